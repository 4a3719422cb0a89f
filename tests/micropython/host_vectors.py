# Frames and grants made by the HOST end of the protocol (edge/protocol.py),
# for the device end to accept inside MicroPython. Generated; do not edit:
#   .venv/bin/python tests/test_micropython_wasm.py --write-vectors
# tests/test_micropython_wasm.py::test_host_vectors_are_current checks it is current.
KEY = b'\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f'
DEV = 'QL-1'
SID = 'a1b2c3d4e5f60718'
LINK_LABEL = b'qinglian/link/v1'
GRANT_LABEL = b'qinglian/grant/v1'
LINK_SUBKEY = b'\xfd\xf2\xc9\x903\xc7\xd7\xfd\x9d\x92Al\xc8\xfb\xda\xa2\xfc3\xd7X\xb2!\xe1\x8d\xa5l3\xde\xaeJ\xcf3'
GRANT_SUBKEY = b'\xb8\xf4\xbb\xfa\x92}Dq\x14\xf5\xf9/\xb8\xb4Of6\x95\x10\xe1\xdb\xc0k\xfdo\xc2\xfdYt\x9af\xa0'
GRANT = {'dev': 'QL-1', 'sid': 'a1b2c3d4e5f60718', 'no': 7, 'req': 'REQ-7', 'presses': 3, 'valid_s': 60, 'at': 1000, 'mac': 'b85eae4df13acec5111c922f1a3b1f7b26c3cfb5082f4c4ec8fb3a6086a493d2'}
WRAP_GRANT = {'dev': 'QL-1', 'sid': 's', 'no': 1, 'req': 'R', 'presses': 1, 'valid_s': 2, 'at': 1073741324, 'mac': '287dcf3e386187f12a779247e5bd350ae1f920b1edc6b6a4ea7044799cd5ff8e'}
MAINT_GRANT = {'dev': 'QL-1', 'sid': 'a1b2c3d4e5f60718', 'no': 8, 'secs': 600, 'at': 1000, 'mac': 'bd928402ff5fb95af568e6bc69983543056fc068540869fc462600c96e7eff32'}
FRAMES = {
    'hello': b'#{"t":"hello","n":"n1"}*b74bbdae4aa781a528f92bdd5556f56f\n',
    'status_1': b'#{"t":"status","s":1,"sid":"a1b2c3d4e5f60718"}*b174fe3052e9d2b41e682bea2d6b5b4d\n',
    'ack_2': b'#{"t":"ack","a":4,"s":2,"sid":"a1b2c3d4e5f60718"}*f20205b0131a2e6031d4657f4f84cef5\n',
    'grant_3': b'#{"t":"grant","g":{"dev":"QL-1","sid":"a1b2c3d4e5f60718","no":7,"req":"REQ-7","presses":3,"valid_s":60,"at":1000,"mac":"b85eae4df13acec5111c922f1a3b1f7b26c3cfb5082f4c4ec8fb3a6086a493d2"},"s":3,"sid":"a1b2c3d4e5f60718"}*f2f945098c13ccaf9aa9cfdcd7bad62c\n',
    'other_session': b'#{"t":"status","s":9,"sid":"ffffffffffffffff"}*3ddda583d81839f55dc424a800d33cb2\n',
    'device_frame': b'#{"t":"status","s":4,"sid":"a1b2c3d4e5f60718"}*b80fd95ab11ece9a54011e3db0e58fc9\n',
}
DEVICE_EVENT = b'#{"t":"ev","s":1,"sid":"a1b2c3d4e5f60718","f":3,"e":{"id": 3, "k": "press", "total": 7}}*89da1e1495db5360d4668f09f2da7202\n'
E2E_DEV = 'QL-E2E'
E2E_START = 1073738824
E2E_URANDOM = b'ZZZZZZZZ'
E2E_SID = '5a5a5a5a5a5a5a5a'
E2E_NONCE = 'e2e-nonce'
E2E_FRAMES = {
    'hello': b'#{"t":"hello","n":"e2e-nonce"}*99bd1330e7a0c13205afeb755ffbff46\n',
    'grant_1': b'#{"t":"grant","g":{"dev":"QL-E2E","sid":"5a5a5a5a5a5a5a5a","no":1,"req":"REQ-E2E-1","presses":2,"valid_s":5,"at":1073738924,"mac":"4890b2e2f37677211f89704c413300ee13bb11a7c847c0e40a56fd53bed5cb5a"},"s":1,"sid":"5a5a5a5a5a5a5a5a"}*2618b2cc9e3b232af0e2d0d9bc93c3cb\n',
    'ack_6': b'#{"t":"ack","a":6,"s":2,"sid":"5a5a5a5a5a5a5a5a"}*2ebd8c711088701e0244fbf563c0e3ea\n',
    'grant_1_again': b'#{"t":"grant","g":{"dev":"QL-E2E","sid":"5a5a5a5a5a5a5a5a","no":1,"req":"REQ-E2E-1","presses":2,"valid_s":5,"at":1073738924,"mac":"4890b2e2f37677211f89704c413300ee13bb11a7c847c0e40a56fd53bed5cb5a"},"s":3,"sid":"5a5a5a5a5a5a5a5a"}*62137d29056ae4ca71607c8e93ba3c50\n',
    'grant_2_expired': b'#{"t":"grant","g":{"dev":"QL-E2E","sid":"5a5a5a5a5a5a5a5a","no":2,"req":"REQ-E2E-2","presses":1,"valid_s":5,"at":1073728824,"mac":"7ee035c4040ad42f6e087e11b79b4302934d7846d185042cabbb4222b893399a"},"s":4,"sid":"5a5a5a5a5a5a5a5a"}*2a4e74984b77b7494f657f863abce3a1\n',
    'grant_3': b'#{"t":"grant","g":{"dev":"QL-E2E","sid":"5a5a5a5a5a5a5a5a","no":3,"req":"REQ-E2E-3","presses":5,"valid_s":2,"at":1073740324,"mac":"1644d1ef152ab3ed54eec34235df312294e13040b19325b907cf924b17741519"},"s":5,"sid":"5a5a5a5a5a5a5a5a"}*f092c1fe3dde4d5a99a5366b52f3d501\n',
    'status': b'#{"t":"status","s":6,"sid":"5a5a5a5a5a5a5a5a"}*e5bfb9f9736dcee3ab3dc573caf265b9\n',
    'maint_4': b'#{"t":"maint","g":{"dev":"QL-E2E","sid":"5a5a5a5a5a5a5a5a","no":4,"secs":60,"at":500,"mac":"48b0240b29bc8faf3db616082f9ca6ae0c3896ceaca2c7d9586bf3fca9e9d643"},"s":7,"sid":"5a5a5a5a5a5a5a5a"}*87da89bc742ae450f9106458cd6ef3f7\n',
    'maint_1': b'#{"t":"maint","g":{"dev":"QL-E2E","sid":"5a5a5a5a5a5a5a5a","no":1,"secs":3,"at":1073738824,"mac":"8fe86bb2b274a254ae0adcc122796efb95a6c13e06c66419935aa3d2109ba6bf"},"s":1,"sid":"5a5a5a5a5a5a5a5a"}*6ef5388cef0358664d449807a6b07fa9\n',
}
