"""seed.py - the demo story from content/, for tests that publish it."""

import json
import os

from harness import SOURCE_ROOT

with open(os.path.join(SOURCE_ROOT, "content", "jilin-russian-far-east.json")) as f:
    SEED = json.load(f)

SEED_SLUG = "jilin-province-begins-economic-trade-activity-in-russian-far-east"
SEED_PARAGRAPHS = [p for p in SEED["body"].split("\n\n") if p.strip()]
