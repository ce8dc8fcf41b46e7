"""CLI verbs of the CRM bridge: link, segments, economics, run, erase (registered in graphcrm.cli)."""
