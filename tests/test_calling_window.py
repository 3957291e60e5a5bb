"""Calling windows (tcpa.hours) and time-zone resolution, with hand-worked local times."""

import csv
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipelines.lib.calling_window import CallingWindows, Slot
from pipelines.lib.timezones import TimezoneResolver, load_state_time_zones

ET, CT, MT = ZoneInfo("America/New_York"), ZoneInfo("America/Chicago"), ZoneInfo("America/Denver")
SUN, MON, SAT = date(2026, 11, 29), date(2026, 11, 30), date(2026, 11, 28)
REFERENCE_ZONES = (
    Path(__file__).resolve().parents[2]
    / "shared/realdata/reference_calendars/us_states_time_zones.csv"
)


@pytest.fixture(scope="module")
def windows():
    return CallingWindows.load()


@pytest.fixture(scope="module")
def zones():
    return TimezoneResolver()


def at(day, hour, tz):
    return datetime.combine(day, time(hour), tz)


@pytest.mark.parametrize(
    "state, day, expected",
    [
        ("FL", MON, ("08:00", "20:00")),
        ("KY", MON, ("10:00", "21:00")),
        ("CT", SUN, ("09:00", "20:00")),
        ("RI", MON, ("09:00", "18:00")),
        ("RI", SAT, ("10:00", "17:00")),
        ("RI", SUN, None),
        ("AL", SUN, None),
        ("TX", MON, ("09:00", "21:00")),
        ("TX", SUN, ("12:00", "21:00")),
        ("NY", SUN, ("08:00", "21:00")),  # not in the table: the federal window
        (None, MON, ("08:00", "21:00")),
        ("UT", SUN, ("08:00", "21:00")),  # UT bans holidays, not Sundays
        ("UT", date(2026, 7, 3), None),  # Independence Day observed (Friday)
        ("PA", date(2026, 7, 4), None),  # Independence Day itself (Saturday)
        ("NY", date(2026, 7, 3), ("08:00", "21:00")),  # no state holiday ban
    ],
)
def test_window_table(windows, state, day, expected):
    window = windows.window(day, state)
    assert window == (None if expected is None else tuple(time.fromisoformat(t) for t in expected))


def test_fl_text_at_ten_inside_eight_to_eight(windows):
    assert windows.slot("sms", MON, ("America/New_York",), "FL") == Slot(at(MON, 10, ET))
    assert (
        windows.slot("sms", MON, ("America/New_York",), "FL").scheduled_for.isoformat()
        == "2026-11-30T10:00:00-05:00"
    )


def test_fl_state_zones_ten_eastern_is_nine_central_still_inside(windows, zones):
    fl = zones.resolve(None, None, "FL")
    assert fl.zones == ("America/New_York", "America/Chicago") and fl.method == "mailing_state"
    assert windows.slot("phone", MON, fl.zones, "FL").scheduled_for == at(MON, 10, ET)


def test_ky_opens_at_ten(windows, zones):
    # KY's window opens at 10:00, the default time: 10:00 for a borrower with their own zone.
    assert windows.slot("sms", MON, ("America/New_York",), "KY").scheduled_for == at(MON, 10, ET)
    # From the state, KY spans Eastern and Central: 10:00 Eastern is 09:00 Central, before
    # KY opens there, so the call waits for 10:00 Central = 11:00 Eastern.
    ky = zones.resolve(None, None, "KY").zones
    slot = windows.slot("sms", MON, ky, "KY")
    assert slot.scheduled_for == at(MON, 10, CT)
    assert slot.scheduled_for.isoformat() == "2026-11-30T11:00:00-05:00"


def test_tx_sunday_text_goes_at_noon(windows, zones):
    # TX allows Sunday 12:00-21:00: a Sunday text moves from 10:00 to the opening, 12:00.
    slot = windows.slot("sms", SUN, ("America/Chicago",), "TX")
    assert slot.scheduled_for.isoformat() == "2026-11-29T12:00:00-06:00"
    assert slot.next_allowed_day is None
    # From the state TX spans Central and Mountain: noon must have come in both, so 12:00 MT.
    tx = zones.resolve(None, None, "TX").zones
    assert (
        windows.slot("sms", SUN, tx, "TX").scheduled_for.isoformat() == "2026-11-29T13:00:00-06:00"
    )
    # A weekday is 10:00 as usual.
    assert (
        windows.slot("sms", MON, ("America/Chicago",), "TX").scheduled_for.isoformat()
        == "2026-11-30T10:00:00-06:00"
    )


def test_tx_sunday_on_the_day_clocks_change(windows):
    # 2026-03-08 is the Sunday daylight time starts: noon is CDT, -05:00.
    slot = windows.slot("sms", date(2026, 3, 8), ("America/Chicago",), "TX")
    assert slot.scheduled_for.isoformat() == "2026-03-08T12:00:00-05:00"


def test_ri_sunday_call_defers_to_monday(windows):
    assert windows.slot("phone", SUN, ("America/New_York",), "RI") == Slot(None, MON)


def test_ri_sunday_before_a_monday_holiday_defers_to_tuesday(windows):
    # 2026-01-19 is Martin Luther King Jr. Day, a federal holiday; RI bans holidays.
    assert windows.slot("phone", date(2026, 1, 18), ("America/New_York",), "RI") == Slot(
        None, date(2026, 1, 20)
    )


def test_ri_saturday_opens_at_ten(windows):
    assert windows.slot("sms", SAT, ("America/New_York",), "RI").scheduled_for == at(SAT, 10, ET)


def test_al_observed_holiday_then_weekend(windows):
    # Fri 2026-07-03 is Independence Day observed, Sat 07-04 the day itself, Sun 07-05 a
    # Sunday: AL bans all three, so the next day is Monday 07-06.
    assert windows.slot("sms", date(2026, 7, 3), ("America/Chicago",), "AL") == Slot(
        None, date(2026, 7, 6)
    )


def test_email_at_nine_and_mail_on_the_day(windows):
    assert windows.slot(
        "email", SUN, ("America/Chicago", "America/Denver"), "RI"
    ).scheduled_for == at(SUN, 9, CT)
    assert windows.slot("mail", SUN, ("America/Chicago",), "RI") == Slot(SUN)


def test_a_state_cannot_widen_the_federal_window():
    custom = CallingWindows(
        {
            "federal": {"open": "08:00", "close": "21:00"},
            "states": {"ZZ": {"all_days": ["07:00", "22:00"]}},
        }
    )
    assert custom.window(MON, "ZZ") == (time(8), time(21))


def test_no_feasible_time_defers_without_a_day():
    # A one-hour window cannot hold in zones three hours apart.
    custom = CallingWindows(
        {
            "federal": {"open": "08:00", "close": "21:00"},
            "states": {"ZZ": {"all_days": ["09:00", "10:00"]}},
        }
    )
    assert custom.slot("sms", MON, ("America/New_York", "America/Los_Angeles"), "ZZ") == Slot(
        None, None
    )


def test_bad_window_data_is_refused():
    with pytest.raises(ValueError, match="opens at"):
        CallingWindows(
            {
                "federal": {"open": "08:00", "close": "21:00"},
                "states": {"ZZ": {"all_days": ["12:00", "10:00"]}},
            }
        )
    with pytest.raises(ValueError, match="unknown keys"):
        CallingWindows(
            {
                "federal": {"open": "08:00", "close": "21:00"},
                "states": {"ZZ": {"sundays": "closed"}},
            }
        )


def test_unknown_zone_window_holds_everywhere(windows, zones):
    unknown = zones.resolve(None)
    assert unknown.method == "unknown" and "Pacific/Honolulu" in unknown.zones
    # 08:00 in Hawaii (UTC-10) is 13:00 Eastern in winter: the earliest time open everywhere.
    assert windows.slot("sms", MON, unknown.zones, None).scheduled_for == at(MON, 13, ET)


# --- time-zone resolution ---------------------------------------------------------------


def test_resolution_order(zones):
    assert zones.resolve("America/Phoenix", "10001", "NY", "TX") == (
        ("America/Phoenix",),
        "borrower",
    )
    assert zones.resolve(None, "10001", "NY", "TX") == (("America/New_York",), "mailing_state")
    with_zip = TimezoneResolver(zip_lookup={"79901": "America/Denver"}.get)
    assert with_zip.resolve(None, "79901", "TX", "TX") == (("America/Denver",), "zip")
    assert with_zip.resolve(None, "00000", "TX", "TX").method == "mailing_state"
    assert zones.resolve(None, None, None, "RI") == (("America/New_York",), "property_state")
    assert zones.resolve("Not/AZone", None, "ZZ", "ri") == (("America/New_York",), "property_state")


def test_state_table_covers_states_dc_pr():
    table = load_state_time_zones()
    usps = {
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "PR",
    }
    assert usps <= set(table)
    assert table["TX"] == ("America/Chicago", "America/Denver")
    assert table["FL"] == ("America/New_York", "America/Chicago")


@pytest.mark.skipif(
    not REFERENCE_ZONES.exists(), reason="shared/realdata reference calendars not present"
)
def test_state_table_spans_every_offset_the_us_package_lists():
    # Independent check against the `us` package's table: every UTC offset (winter and summer)
    # used in a state must be covered by our zones for it.
    table = load_state_time_zones()

    def offsets(names):
        return {
            (m, datetime(2026, m, 15, 12, tzinfo=ZoneInfo(z)).utcoffset())
            for z in names
            for m in (1, 7)
        }

    with REFERENCE_ZONES.open() as f:
        for row in csv.DictReader(f):
            assert offsets(row["time_zones"].split(";")) <= offsets(table[row["state_abbr"]]), row[
                "state_abbr"
            ]
