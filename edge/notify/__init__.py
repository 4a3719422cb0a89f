"""Push to phones: a notifier with several delivery backends active at once.

* :mod:`edge.notify.base`      the message, the backend interface, delivery errors
* :mod:`edge.notify.webpush`   Web Push (RFC 8030/8291/8292) through pywebpush; VAPID keys in data_dir/secrets
* :mod:`edge.notify.robots`    DingTalk (钉钉) custom robot (signed), WeCom (企业微信) group robot, generic JSON webhook
* :mod:`edge.notify.notifier`  who is told what when the ledger records a step; deliveries retried with backoff

A pushed message carries only a link to the request page: acting on it still
needs the approver's own logged-in session.
"""
