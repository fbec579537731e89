#!/bin/sh
# The Naver document's three curl requests, with its host replaced by $NAVER_API_BASE and
# its placeholders by the environment. $1 names the request: nkey, image or compare.
# web/examples_test.go runs them.
set -eu
case "$1" in
nkey) # 캡차 키 발급
curl "$NAVER_API_BASE/captcha/v1/nkey?code=0" \
	-H "X-NCP-APIGW-API-KEY-ID: $NAVER_CLIENT_ID" \
	-H "X-NCP-APIGW-API-KEY: $NAVER_CLIENT_SECRET" -v
;;
image) # 이미지 파일 요청
curl "$NAVER_API_BASE/captcha-bin/v1/ncaptcha?key=$NAVER_CAPTCHA_KEY&X-NCP-APIGW-API-KEY-ID=$NAVER_CLIENT_ID" -v > image.jpg
;;
compare) # 캡차 입력값 비교
curl "$NAVER_API_BASE/captcha/v1/nkey?code=1&key=$NAVER_CAPTCHA_KEY&value=$NAVER_CAPTCHA_VALUE" \
	-H "X-NCP-APIGW-API-KEY-ID: $NAVER_CLIENT_ID" \
	-H "X-NCP-APIGW-API-KEY: $NAVER_CLIENT_SECRET" -v
;;
*) echo "usage: $0 nkey|image|compare" >&2; exit 2 ;;
esac
