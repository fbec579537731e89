# The Naver document's Python 3 example "키 입력값 비교" (compare the value), unchanged but for
# where the base URL, credentials, key and value come from. web/examples_test.go runs it.
import os
import sys
import urllib.request
base = os.environ["NAVER_API_BASE"]  # was https://naveropenapi.apigw.ntruss.com
# 네이버 캡차 Open API 예제 - 키 입력값 비교
client_id = os.environ["NAVER_CLIENT_ID"]
client_secret = os.environ["NAVER_CLIENT_SECRET"]
code = "1"
key = os.environ["NAVER_CAPTCHA_KEY"]
value = os.environ["NAVER_CAPTCHA_VALUE"]
url = base + "/captcha/v1/nkey?code=" + code + "&key=" + key + "&value=" + value
request = urllib.request.Request(url)
request.add_header("X-NCP-APIGW-API-KEY-ID",client_id)
request.add_header("X-NCP-APIGW-API-KEY",client_secret)
response = urllib.request.urlopen(request)
rescode = response.getcode()
if(rescode==200):
    response_body = response.read()
    print(response_body.decode('utf-8'))
else:
    print("Error Code:" + rescode)
