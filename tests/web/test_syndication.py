"""Feeds of hits parse cleanly; the API returns what `monitor hits --json` prints."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
from typer.testing import CliRunner

from monitor.cli import app
from monitor.feeds import parse_feed
from tests.web_support import client, config, seeded_store


def test_atom_and_json_feeds_parse_cleanly(sqlite_url: str, tmp_path: Path) -> None:
    store = seeded_store(sqlite_url)
    with client(store, config(tmp_path, sqlite_url)) as c:
        atom = c.get("/feed.atom")
        assert atom.headers["content-type"].startswith("application/atom+xml")
        parsed = feedparser.parse(atom.content)
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert parsed.version == "atom10" and len(parsed.entries) == 3
        per_rule = feedparser.parse(c.get("/rules/gaza-ceasefire/feed.atom").content)
        assert per_rule.bozo == 0 and len(per_rule.entries) == 2
        assert all(e.title for e in per_rule.entries)
        jf = c.get("/rules/ukraine-peace-plan/feed.json")
        body = jf.json()
        assert body["version"] == "https://jsonfeed.org/version/1.1"
        assert len(body["items"]) == 1 and body["items"][0]["id"].endswith("/hits/2")
        # feedparser 6.0 reads no JSON Feed: the service's own JSON Feed reader checks it
        parsed_json = parse_feed(jf.content, url="http://127.0.0.1/feed.json",
                                 content_type=jf.headers["content-type"])
        assert parsed_json.warnings == () and len(parsed_json.entries) == 1
        item = body["items"][0]
        assert {"id", "url", "title", "content_text", "date_modified"} <= set(item)
        # The body's passages an alert shows, each once; not the headline again.
        for each in c.get("/feed.json").json()["items"]:
            passages = each["content_text"].split("\n", 1)[1].split(" … ")
            assert len(passages) == len(set(passages)), passages
            assert not any(each["title"] in p for p in passages), passages
        assert c.get("/rules/no-such-rule/feed.atom").status_code == 404
    store.close()


def test_api_hits_are_the_cli_hits(sqlite_url: str, tmp_path: Path) -> None:
    store = seeded_store(sqlite_url)
    cfg_file = tmp_path / "monitor.yaml"
    cfg_file.write_text(f"database_url: {sqlite_url}\n")
    cli = CliRunner().invoke(app, ["-c", str(cfg_file), "hits", "--json"])
    assert cli.exit_code == 0, cli.output
    from_cli = [json.loads(line) for line in cli.output.splitlines()]
    with client(store, config(tmp_path, sqlite_url)) as c:
        page1 = c.get("/api/v1/hits?limit=2").json()
        page2 = c.get(page1["next"]).json()
        assert page2["next"] is None
        from_api = page1["items"] + page2["items"]
        for item in from_api:
            assert item.pop("relevant") is None
        assert from_api == from_cli
        stories = c.get("/api/v1/stories?rule=gaza-ceasefire")
        assert stories.headers["x-total-count"] == "2"
        assert c.get("/api/v1/openapi.json").json()["openapi"].startswith("3.")
        hit_id = from_api[0]["id"]
        assert c.post(f"/api/v1/hits/{hit_id}/feedback", data={"relevant": "true"}
                      ).status_code == 403
        ok = c.post(f"/api/v1/hits/{hit_id}/feedback", json={"relevant": True})
        assert ok.status_code == 200 and ok.json()["relevant"] is True
        rules = {r["id"]: r for r in c.get("/api/v1/rules").json()["items"]}
        assert rules[from_api[0]["rule"]]["precision"] == 1.0
        assert c.get("/api/v1/articles/999999").status_code == 404
        assert c.get("/api/v1/feeds").json()["items"][0]["status"] == "never polled"
    store.close()
