from django.apps import AppConfig


class DeskConfig(AppConfig):
    """The top app: pages that compose every other app's panels (cockpit, lists, Account 360, alerts).

    Nothing imports desk; each lower app offers its panel as a selector and a
    partial template, and desk puts them on one page.
    """

    name = "desk"
