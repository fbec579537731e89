# The Naver document's Python 3 example "키발급" (issue a key), unchanged but for where the
# base URL and credentials come from: the environment, so that a test can point it at this
# server. web/examples_test.go runs it.
import os
import sys
import urllib.request
base = os.environ["NAVER_API_BASE"]  # was https://naveropenapi.apigw.ntruss.com
# 네이버 캡차 API 예제 - 키발급
client_id = os.environ["NAVER_CLIENT_ID"]
client_secret = os.environ["NAVER_CLIENT_SECRET"]
code = "0"
url = base + "/captcha/v1/nkey?code=" + code
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
