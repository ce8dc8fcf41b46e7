"""The CRM bridge: customer <-> account linking, segments, influencer economics, exports, batch pipeline, erase."""
