"""Outcomes: what happened at a renewal or at churn, the ground truth health scorecards are backtested against.

Recorded on the Account 360, through the API (`/api/outcomes/`), from a CSV file
(`/outcomes/import/`) and by moving an account to the stage "churned". Append-only: a wrong
outcome is corrected by recording one that names it (`corrects`).
"""
