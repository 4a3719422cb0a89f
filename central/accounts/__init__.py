"""Accounts at the central store: who logs in (township and county officers, suppliers, banks, the administrator),
their sessions and CSRF tokens, the supplier and bank applications a county officer decides, and the shell a
module's central part is handed (:mod:`central.accounts.shell`)."""
