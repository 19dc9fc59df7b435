"""Every page of the dashboard in a real browser (Debian's chromium, headless, driven by playwright) against
`rca dashboard`'s own process, the real service and graph, with the demo incident replayed. Each page's
screenshot is kept as a test artefact (RCA_TEST_ARTIFACTS, default tests/artifacts/dashboard)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from rca.service.stubs import pb
from tests.support.dashboard_browser import (
    CHART,
    EXCEPTION,
    GRAPH,
    NARROW,
    WIDE,
    browser,
    offline_page,
    running_dashboard,
    wait_incident_ready,
    wait_incidents_ready,
)
from tests.support.demo_stack import ROOT_CAUSE
from tests.support.waiting import wait_until

ARTIFACTS = Path(os.environ.get("RCA_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts")) / "dashboard"


@pytest.fixture(scope="module")
def site(demo_stack):
    """The dashboard's URL and a browser, shared by the module's tests."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with running_dashboard(demo_stack.env) as url, browser() as chromium:
        yield url, chromium


@pytest.fixture
def visit(site):
    """Open a page of the dashboard at a viewport; after the test: no exception box, nothing loaded from outside."""
    url, chromium = site
    refused: list[str] = []
    pages = []

    def open_page(path: str, viewport: dict = WIDE):
        page = offline_page(chromium, viewport, refused)
        pages.append(page)
        page.goto(f"{url}/{path}")
        return page

    yield open_page
    for page in pages:
        assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.text_content()
        assert page.get_by_text("Page not found").count() == 0, page.url
        page.close()
    assert not refused, f"the dashboard asked for outside resources: {refused}"


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_incidents_page_lists_the_demo_incident(visit, demo_stack):
    page = visit("")  # the default page lives at the root
    wait_incidents_ready(page)
    page.get_by_text("Incidents", exact=True).first.wait_for()
    shot(page, "incidents")
    assert page.locator('[data-testid="stDataFrame"]').count() == 1


def test_incidents_page_refreshes_on_its_own(visit, demo_stack):
    page = visit("")  # the default page lives at the root
    wait_incidents_ready(page)
    caption = page.get_by_text(re.compile(r"^\d+ incidents · updated"))
    before = int(caption.inner_text().split()[0])
    demo_stack.client.infer(pb.InferRequest(symptoms=[pb.Symptom(entity_name="checkout", family="errors")]))
    # no reload: the list reads the service again every RCA_DASHBOARD__REFRESH_S (5 s here)
    page.get_by_text(f"{before + 1} incidents · updated").wait_for(timeout=30000)


def test_incident_page_draws_the_path_and_the_timeline(visit, demo_stack):
    [root_cause] = [c for c in demo_stack.response.candidates if c.entity_id == ROOT_CAUSE]
    for name, viewport in (("incident-wide", WIDE), ("incident-narrow", NARROW)):
        page = visit(f"incident?id={demo_stack.incident_id}", viewport)
        wait_incident_ready(page)
        page.get_by_text(f"#{root_cause.rank} {ROOT_CAUSE}", exact=True).first.click()
        page.get_by_text(f"Path from {ROOT_CAUSE}").wait_for()
        page.get_by_text("postgres-payments → payment → checkout").first.wait_for()
        picture = page.locator(GRAPH).first.text_content() or ""
        assert ROOT_CAUSE in picture and "1. DEPENDS_ON (reverse)" in picture and "checkout" in picture
        # the score breakdown and the timeline's two panels
        assert page.locator(f"{CHART} canvas, {CHART} svg").count() >= 3
        shot(page, name)
        for number, panel in ((1, "anomalies"), (2, "logs")):  # after the selected candidate's score breakdown
            timeline = page.locator(CHART).nth(number)
            timeline.scroll_into_view_if_needed()
            timeline.screenshot(path=str(ARTIFACTS / f"{name}-timeline-{panel}.png"))


def test_topology_page_draws_the_neighbourhood(visit):
    page = visit(f"topology?entity={ROOT_CAUSE}")
    page.wait_for_selector(GRAPH, timeout=30000)
    assert "payment" in (page.locator(GRAPH).first.text_content() or "")
    shot(page, "topology")


def test_health_page_shows_graph_and_service(visit, demo_stack):
    page = visit("health")
    page.get_by_text("schema version").first.wait_for(timeout=30000)
    page.get_by_text(f"up at {demo_stack.target}").first.wait_for(timeout=30000)
    tables = page.locator('[data-testid="stDataFrame"] canvas')
    wait_until(lambda: tables.count() >= 4, timeout=30, message="the health tables are drawn")
    shot(page, "health")


def test_ask_page_answers_a_question(visit):
    page = visit("ask")
    box = page.locator('[data-testid="stChatInput"] textarea')
    box.wait_for(timeout=30000)
    box.fill("what changed on postgres-payments in the last hour")
    box.press("Enter")
    page.get_by_text("intent changes").first.wait_for(timeout=30000)
    page.wait_for_selector('[data-testid="stDataFrame"]', timeout=30000)
    box.fill("what changed on postgres-payments and who calls payment")  # two things: one table each
    box.press("Enter")
    page.get_by_text("2/2 · dependents").first.wait_for(timeout=30000)
    tables = page.locator('[data-testid="stDataFrame"]')
    wait_until(lambda: tables.count() == 3, timeout=30, message="the first answer's table and one per part")
    shot(page, "ask")
