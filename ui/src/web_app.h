#pragma once

// The catalog web page (issue 9): the app shell at /, /search, /assets/<key>, /incidents and
// /owners/<id>, and its scripts and styles under /static/. Everything is embedded in the binary
// (web_files.h); the page reads only the public /api/v1 routes.
//
// Every answer carries a strict Content-Security-Policy (scripts and styles from this origin
// only, no inline script, no other host), an ETag (If-None-Match gets 304) and
// Cache-Control: no-cache, so a new binary's page is picked up on the next load.

#include "tidemark/model/status.h"
#include "tidemark/ui/router.h"

namespace tidemark::ui {

// The Content-Security-Policy every page answer carries.
inline constexpr char kWebContentSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

model::Status AddWebRoutes(Router& router);

}  // namespace tidemark::ui
