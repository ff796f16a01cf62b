#pragma once

// Secret redaction for anything that may reach a log line, an error message or /health.
// Every log line Tidemark writes passes through RedactSecrets (see the CLI's log formatter),
// so a secret that slips into a message is still not printed.
//
// What is replaced by "***":
//   - URL passwords:              postgresql://u:pw@h/db        -> postgresql://u:***@h/db
//   - keyword-DSN and key=value:  host=h password=pw            -> host=h password=***
//     (password, passwd, pwd, token, secret, sig, signature, api_key, apikey, access_token,
//      refresh_token, client_secret, and names ending in _token, _secret, _password)
//   - URL query parameters with those names, plus key and code:  ?code=abc -> ?code=***
//   - JSON members with those names:  "password": "pw"           -> "password": "***"
//   - bearer tokens and Authorization values: Authorization: Bearer x -> Authorization: Bearer ***
//   - chat webhook URLs, whose path is the credential: https://hooks.slack.com/services/T/B/X
//     -> https://hooks.slack.com/***; likewise *.webhook.office.com and *.logic.azure.com.
//
// It errs on the side of hiding: a false positive costs a less useful log line, a false
// negative a leaked credential. Pure functions; thread-safe.

#include <string>
#include <string_view>

namespace tidemark::ui {

// `text` with every secret above replaced by "***"; text without secrets is returned as is.
std::string RedactSecrets(std::string_view text);

}  // namespace tidemark::ui
