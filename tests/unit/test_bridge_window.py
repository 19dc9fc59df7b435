"""rca.bridge.diagnosis: the window of the bridge's Infer call (look-back setting, end at now)."""

from __future__ import annotations

from rca.bridge.diagnosis import AFTER_ALERT_S, WINDOW_BEFORE_S, alert_window
from rca.bridge.mapping import MappedSymptom
from settings.bridge import BridgeSettings


def symptom(entity: str, at: float) -> MappedSymptom:
    return MappedSymptom(entity, "errors", at)


def test_the_window_reaches_the_look_back_before_the_first_alert_and_ends_now():
    window = alert_window([symptom("web", 1000.0), symptom("api", 1010.0)], 120.0, now=1015.0)
    assert (window.start, window.end) == (880.0, 1015.0)


def test_a_re_diagnosis_long_after_the_alert_began_ends_at_now_not_at_the_old_alert():
    window = alert_window([symptom("web", 1000.0)], 300.0, now=1000.0 + 900.0)
    assert (window.start, window.end) == (700.0, 1900.0)


def test_an_alert_stamped_ahead_of_the_bridge_clock_still_ends_the_window():
    window = alert_window([symptom("web", 1000.0)], 60.0, now=990.0)
    assert (window.start, window.end) == (940.0, 1000.0)


def test_the_look_back_is_a_setting_whose_default_stays_1800_s(monkeypatch):
    assert BridgeSettings().window_before_s == WINDOW_BEFORE_S == 1800.0
    monkeypatch.setenv("RCA_BRIDGE__WINDOW_BEFORE_S", "300")
    from settings.root import load_settings

    assert load_settings(None).bridge.window_before_s == 300.0


def test_alerts_from_another_day_get_a_window_the_service_accepts():
    # a replayed notification (or a group firing for days): the window ends a bounded time past the alert
    window = alert_window([symptom("web", 1000.0)], 1800.0, now=1000.0 + 400 * 86400.0)
    assert (window.start, window.end) == (-800.0, 1000.0 + AFTER_ALERT_S)
