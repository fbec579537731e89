# The Naver document's Python 3 example "이미지수신" (receive the image), unchanged but for
# where the base URL, client id and key come from. It writes captcha.jpg in the current
# directory. web/examples_test.go runs it.
import os
import sys
import urllib.request
base = os.environ["NAVER_API_BASE"]  # was https://naveropenapi.apigw.ntruss.com
# 네이버 캡차 API 예제 - 이미지수신
client_id = os.environ["NAVER_CLIENT_ID"]
key = os.environ["NAVER_CAPTCHA_KEY"] # 캡차 Key 값
url = base + "/captcha-bin/v1/ncaptcha?key=" + key + "&X-NCP-APIGW-API-KEY-ID=" + client_id;
request = urllib.request.Request(url)
response = urllib.request.urlopen(request)
rescode = response.getcode()
if(rescode==200):
    print("캡차 이미지 저장")
    response_body = response.read()
    with open('captcha.jpg', 'wb') as f:
        f.write(response_body)
else:
    print("Error Code:" + rescode)
