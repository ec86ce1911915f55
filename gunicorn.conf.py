"""gunicorn's settings for every way Baton starts it (compose, the image, `make load`, the API contract run).

gunicorn reads this file from the directory it starts in (the project root here, /app in the image).
"""

# A list filtered by several values of each field (`?region=emea&region=apac&...&tag=...`) makes a long request
# line; gunicorn's default of 4,094 bytes answered such a request with its own HTML 400 page before Django saw it.
# 8,190 is the most gunicorn allows, and as much as common proxies pass by default.
limit_request_line = 8190
