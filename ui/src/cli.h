#pragma once

// The `tidemark` command line: parses arguments (CLI11), loads the Config and runs one
// subcommand. Exit codes: 0 success, 1 a runtime failure (store unreachable, port taken),
// 2 a usage or configuration error, reported as one `tidemark: error: ...` line on stderr.

namespace tidemark::ui {

// Runs the command line and returns the process's exit code. Call once, from main.
int RunCli(int argc, char** argv);

}  // namespace tidemark::ui
