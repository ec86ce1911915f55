"""Money: ARR in the reporting currency.

Accounts keep their ARR in the currency of their contract. Admins keep exchange rates to the
reporting currency (`BATON_REPORTING_CURRENCY`), each in force from its `effective_on` date
until the next one of that currency. `Account.arr_reporting` holds the ARR converted at the
rate in force today, so sums and sorts read one indexed column; it is null while no rate is
known for the account's currency, and pages that sum money warn about those currencies
(`selectors.missing_rate_currencies`) instead of counting them as zero.

The converted column is refreshed set-based by `refresh.converted_arr_refresh`: by the account
services when an ARR or currency changes, and by the rate services when a rate is written.
"""
