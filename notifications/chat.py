"""Text that goes into a team's chat message (Slack-compatible incoming webhooks), escaped for that format.

Anything Baton did not write itself (an account's name, a rule's name, a
flag's reason quoting an NPS comment or a ticket subject) is text, never
markup: `<!channel>`, `<@U123>` and `<https://x|click>` arrive as characters,
`@channel`/`@here` as written words that ping nobody, and a bare URL as a
word that does not unfurl or link. Baton's own markup (its link to the
account, the bold severity) is added around the escaped text.
"""

from __future__ import annotations

import re

# Slack's mrkdwn gives meaning to these three characters only; escaping them turns every control sequence
# (<!channel>, <!here>, <@U…>, <#C…>, <url|label>) into plain text.
_SLACK_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Mentions that receivers of Slack-compatible webhooks (Mattermost, Rocket.Chat) honour as written words.
_BROADCAST = re.compile(r"@(channel|here|everyone|all|group)\b", re.IGNORECASE)
# A bare URL would be linked (and its page fetched for a preview): break its scheme so it stays a word.
_URL_SCHEME = re.compile(r"\b([a-z][a-z0-9+.-]*):(//)", re.IGNORECASE)
ZERO_WIDTH_SPACE = "\u200b"
# Formatting characters of mrkdwn: customer text cannot make the message bold, struck through or code.
_FORMATTING = re.compile(r"([*_~`])")


def slack_text(value: object) -> str:
    """`value` as literal text inside a Slack mrkdwn message."""
    text = "".join(_SLACK_ENTITIES.get(c, c) for c in str(value))
    text = _BROADCAST.sub(lambda m: f"@{ZERO_WIDTH_SPACE}{m.group(1)}", text)
    text = _URL_SCHEME.sub(lambda m: f"{m.group(1)}:{ZERO_WIDTH_SPACE}{m.group(2)}", text)
    return _FORMATTING.sub(lambda m: f"{ZERO_WIDTH_SPACE}{m.group(1)}{ZERO_WIDTH_SPACE}", text)


def slack_link(url: str, label: object) -> str:
    """Baton's own link: the URL is Baton's, the label is escaped text (a `|` in it would end the label)."""
    return f"<{url.replace('>', '%3E').replace('|', '%7C')}|{slack_text(label).replace('|', '¦')}>"
