"""Products and entitlements: the modules a customer can buy, and which of them each account holds, when and for how many seats.

The catalogue is configuration (admins keep it at `/products/`; everyone reads it). An
account's entitlements are kept by whoever may change the account: on the Account 360's
"Products" panel, through `/api/entitlements/`, or many at once with `/api/entitlements/bulk/`.
Health reads them to measure adoption breadth: the share of the products an account holds that it uses.
"""
