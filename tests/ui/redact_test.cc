#include "tidemark/ui/redact.h"

#include <gtest/gtest.h>

namespace tidemark::ui {
namespace {

TEST(RedactTest, TextWithoutSecretsIsUnchanged) {
  for (const char* text : {"", "listening on http://127.0.0.1:8080 (store: sqlite:./t.db)",
                           "asset key=model.shop.orders changed", "a: b, c=d",
                           "postgresql://tidemark@db:5432/tidemark"}) {
    EXPECT_EQ(RedactSecrets(text), text);
  }
}

TEST(RedactTest, UrlPasswords) {
  EXPECT_EQ(RedactSecrets("postgresql://u:pw@h/db"), "postgresql://u:***@h/db");
  EXPECT_EQ(RedactSecrets("open postgres://admin:s3cr%40t@db.internal:5432/x failed"),
            "open postgres://admin:***@db.internal:5432/x failed");
  // An unescaped '@' in the password: the host starts after the last '@'.
  EXPECT_EQ(RedactSecrets("postgresql://u:p@ss@h:5432"), "postgresql://u:***@h:5432");
  EXPECT_EQ(RedactSecrets("a https://x:y@one.example and https://p:q@two.example"),
            "a https://x:***@one.example and https://p:***@two.example");
}

TEST(RedactTest, KeywordDsnPasswords) {
  EXPECT_EQ(RedactSecrets("host=db port=5432 password=hunter2 dbname=t"),
            "host=db port=5432 password=*** dbname=t");
  EXPECT_EQ(RedactSecrets("postgresql:host=db password = 'two words' user=u"),
            "postgresql:host=db password = '***' user=u");
  EXPECT_EQ(RedactSecrets("Server=x;Uid=u;Pwd=hunter2;"), "Server=x;Uid=u;Pwd=***;");
}

TEST(RedactTest, TokensAndAuthorization) {
  EXPECT_EQ(RedactSecrets("Authorization: Bearer abc.def.ghi"), "Authorization: Bearer ***");
  EXPECT_EQ(RedactSecrets("authorization: Basic dXNlcjpwdw=="), "authorization: Basic ***");
  EXPECT_EQ(RedactSecrets("Authorization: rawtoken"), "Authorization: ***");
  EXPECT_EQ(RedactSecrets("sent with bearer abc123, retrying"), "sent with bearer ***, retrying");
  EXPECT_EQ(RedactSecrets("token=abc123 next"), "token=*** next");
  EXPECT_EQ(RedactSecrets("X-Api-Token: abc"), "X-Api-Token: ***");
  EXPECT_EQ(RedactSecrets("slack_token=xoxb-1"), "slack_token=***");
  EXPECT_EQ(RedactSecrets(R"({"token": "abc", "password":"pw", "name": "x"})"),
            R"({"token": "***", "password":"***", "name": "x"})");
}

TEST(RedactTest, ChatWebhookUrlsKeepOnlySchemeAndHost) {
  EXPECT_EQ(RedactSecrets("posting to https://hooks.slack.com/services/T000/B000/XXXX now"),
            "posting to https://hooks.slack.com/*** now");
  EXPECT_EQ(RedactSecrets("https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/x"),
            "https://contoso.webhook.office.com/***");
  EXPECT_EQ(RedactSecrets("https://prod-01.westus.logic.azure.com:443/workflows/1/triggers/"
                          "manual/paths/invoke?api-version=2016-06-01&sig=abc"),
            "https://prod-01.westus.logic.azure.com:443/***");
  // Other hosts keep their paths.
  EXPECT_EQ(RedactSecrets("https://example.com/services/T/B/X"),
            "https://example.com/services/T/B/X");
}

TEST(RedactTest, SecretQueryParameters) {
  EXPECT_EQ(RedactSecrets("GET /cb?code=abc&state=s1"), "GET /cb?code=***&state=s1");
  EXPECT_EQ(RedactSecrets("https://h/x?key=k1&sig=s&signature=t&secret=u&password=v&token=w#f"),
            "https://h/x?key=***&sig=***&signature=***&secret=***&password=***&token=***#f");
  EXPECT_EQ(RedactSecrets("https://h/x?api_key=k&page=2"), "https://h/x?api_key=***&page=2");
  // "key" and "code" outside a query string are ordinary words.
  EXPECT_EQ(RedactSecrets("key=orders code=42"), "key=orders code=42");
}

TEST(RedactTest, IsIdempotent) {
  const char* text = "postgresql://u:pw@h?password=x Authorization: Bearer y";
  std::string once = RedactSecrets(text);
  EXPECT_EQ(RedactSecrets(once), once);
  EXPECT_EQ(once.find("pw"), std::string::npos);
  EXPECT_EQ(once.find('y'), std::string::npos);
}

}  // namespace
}  // namespace tidemark::ui
