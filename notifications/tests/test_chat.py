"""Customer text in a team's chat message is text: no mentions, no links, no formatting of its own."""

from notifications.chat import ZERO_WIDTH_SPACE, slack_link, slack_text


def test_slack_control_sequences_arrive_as_characters():
    text = slack_text("Hi <!channel> <!here> <@U123> <#C1> <https://evil.test|click> & co")
    assert "<" not in text and ">" not in text
    assert "&lt;!channel&gt;" in text and "&amp; co" in text


def test_written_broadcast_mentions_and_bare_links_are_defused():
    text = slack_text("@channel @here @everyone see https://evil.test/x")
    assert "@channel" not in text and "@here" not in text and "@everyone" not in text
    assert "https://" not in text
    assert text.replace(ZERO_WIDTH_SPACE, "") == "@channel @here @everyone see https://evil.test/x"


def test_customer_text_cannot_format_the_message():
    assert "*" in slack_text("*bold*") and slack_text("*bold*") != "*bold*"


def test_batons_own_link_keeps_its_url_and_escapes_its_label():
    link = slack_link("https://baton.test/accounts/1/", "Acme <!channel> | x")
    assert link.startswith("<https://baton.test/accounts/1/|") and link.endswith(">")
    assert "<!channel>" not in link and link.count("|") == 1
