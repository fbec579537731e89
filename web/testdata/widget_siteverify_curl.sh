#!/bin/sh
# The README's siteverify example ("Widget and siteverify"), with the server's address in
# CAPTCHA_BASE: run by web/siteverify_clients_test.go (TestWidgetSiteverifyCurlExamples).
curl -s "$CAPTCHA_BASE/siteverify" \
  --data-urlencode "secret=$CAPTCHA_SECRET" \
  --data-urlencode "response=$TOKEN_FROM_THE_FORM"
