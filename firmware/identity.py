# The device identity written at provisioning: id and the 32-byte device key.
import binascii
import json

IDENTITY_FILE = "identity.json"


def load():
    """Return (device_id, key) or None for a factory-fresh device."""
    try:
        with open(IDENTITY_FILE) as f:
            data = json.loads(f.read())
        key = binascii.unhexlify(data["key"])
        device_id = data["device_id"]
    except (OSError, ValueError, KeyError):
        return None
    if len(key) != 32 or not device_id:
        return None
    return device_id, key
