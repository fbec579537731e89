#!/bin/sh
# The NHN document's requests as curl commands, with its host replaced by $NHN_API_BASE and
# its placeholders by the environment. $1 names the request: issue, image, sound, verify or
# expire. web/examples_test.go runs them.
set -eu
case "$1" in
issue) # 1. CAPTCHA 인증 키 발급
curl -s -X POST "$NHN_API_BASE/captcha/v1.0/appkeys/$NHN_APPKEY/keys" -H "Content-Type: application/json"
;;
image) # 2. 사용자에게 CAPTCHA 출력 (Image)
curl -s "$NHN_API_BASE/captcha/v1.0/keys/$NHN_KEY/img" > image.jpg
;;
sound) # 2. 사용자에게 CAPTCHA 출력 (Sound), with the timestamp its JavaScript example adds
curl -s "$NHN_API_BASE/captcha/v1.0/keys/$NHN_KEY/sound?timestamp=1513324704457" > sound.wav
;;
verify) # 3. CAPTCHA 확인
curl -s "$NHN_API_BASE/captcha/v1.0/appkeys/$NHN_APPKEY/keys/$NHN_KEY/verification?answer=$NHN_ANSWER"
;;
expire) # 4. CAPTCHA 인증 키 expire
curl -s -X DELETE "$NHN_API_BASE/captcha/v1.0/appkeys/$NHN_APPKEY?key=$NHN_KEY"
;;
*) echo "usage: $0 issue|image|sound|verify|expire" >&2; exit 2 ;;
esac
