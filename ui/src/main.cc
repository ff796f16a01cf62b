#include "cli.h"

int main(int argc, char** argv) { return tidemark::ui::RunCli(argc, argv); }
