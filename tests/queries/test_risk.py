"""Specification of queries.risk: published textbook examples first, then the edge cases.

Textbook tolerances follow the precision the book prints (e.g. "0.92" -> abs=0.005). Where no
published figure exists, the expected value is worked out by hand and the comment says so.
Lead times are in whatever period the demand is given in (the Walmart example uses weeks).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from typing import Any

import pytest

from queries.risk import (
    annual_carrying_cost,
    days_of_cover,
    economic_order_quantity,
    expected_shortage,
    fill_rate,
    lead_time_demand_sd,
    reorder_point,
    safety_stock,
    shelf_life_capped,
    stockout_probability,
)

NAN = math.nan


def names(argument: str) -> str:
    """Regex for a ValueError message that starts with exactly this argument name.

    Anchored so that "lead_time_days" is not satisfied by a message about "sd_lead_time_days".
    """
    return rf"^{re.escape(argument)} "


# Published examples.


def test_walmart_lego_reorder_point_6000_gives_cycle_service_level_0_92() -> None:
    # Chopra & Meindl, Supply Chain Management, ch. 12, Example 12-1 (Walmart, Lego):
    # weekly demand N(2500, 500), L = 2 weeks, ROP = 6000 -> CSL = 0.92.
    p = stockout_probability(6000, 2500, 500, 2)
    assert 1.0 - p == pytest.approx(0.92, abs=0.005)


def test_walmart_lego_stockout_probability_is_exactly_half_erfc_1() -> None:
    # Hand-computed for Example 12-1: z = 1000 / (500 * sqrt 2) = sqrt 2, so
    # P(stockout) = 1 - Phi(sqrt 2) = erfc(1) / 2 = 0.078650 (~0.0786).
    p = stockout_probability(6000, 2500, 500, 2)
    assert p == pytest.approx(0.5 * math.erfc(1.0), rel=1e-9)
    assert p == pytest.approx(0.0786, abs=0.0001)


def test_walmart_lego_order_quantity_10000_gives_expected_shortage_25_13_per_cycle() -> None:
    # Chopra & Meindl ch. 12, Example 12-2: ss = 1000, sigma_L = 707 -> ESC = 25.13.
    assert expected_shortage(6000, 2500, 500, 2) == pytest.approx(25.13, abs=0.005)


def test_walmart_lego_order_quantity_10000_gives_fill_rate_0_9975() -> None:
    # Chopra & Meindl ch. 12, Example 12-2: fill rate = 1 - 25.13 / 10000 = 0.9975.
    assert fill_rate(6000, 10_000, 2500, 500, 2) == pytest.approx(0.9975, abs=0.00005)


def test_walmart_lego_cycle_service_level_0_90_needs_safety_inventory_906() -> None:
    # Chopra & Meindl ch. 12, Example 12-3: NORMSINV(0.90) * sqrt(2) * 500 = 906.
    assert safety_stock(2500, 500, 2, 0.90) == pytest.approx(906, abs=0.5)


def test_dell_lead_time_uncertainty_gives_lead_time_demand_sd_17550() -> None:
    # Chopra & Meindl ch. 12, Example 12-6 (Dell): D = 2500/day, sigma_D = 500, L = 7,
    # s_L = 7 -> sigma_L = sqrt(7 * 500^2 + 2500^2 * 7^2) = 17,550.
    assert float(lead_time_demand_sd(2500, 500, 7, 7)) == pytest.approx(17_550, abs=0.5)


def test_dell_lead_time_uncertainty_at_cycle_service_level_0_90_needs_safety_stock_22491() -> None:
    # Chopra & Meindl ch. 12, Example 12-6 (Dell): ss = NORMSINV(0.90) * 17,550 = 22,491.
    assert safety_stock(2500, 500, 7, 0.90, sd_lead_time_days=7) == pytest.approx(22_491, abs=0.5)


def test_heizer_render_sharp_needles_eoq_is_200_units() -> None:
    # Heizer & Render, Operations Management, ch. 12 (Sharp, Inc.): D = 1000, S = $10,
    # H = $0.50 -> Q* = sqrt(2 * 1000 * 10 / 0.50) = 200.
    assert economic_order_quantity(1000, 10, 0.50) == pytest.approx(200)


def test_eoq_of_a_perishable_is_at_most_what_sells_within_its_shelf_life() -> None:
    # 200 by Harris, but 2 a day for 30 days sells only 60 before the lot expires.
    capped = shelf_life_capped(
        [200.0, 200.0, 200.0, 200.0], [2.0, 10.0, 2.0, 2.0], [30, 30, NAN, 0]
    )
    assert capped.tolist() == [60.0, 200.0, 200.0, 200.0]  # NaN or 0: not a perishable


def test_heizer_render_sharp_needles_annual_holding_cost_is_50_dollars() -> None:
    # Heizer & Render ch. 12 (Sharp, Inc.): holding cost = (Q*/2) * H = 100 * $0.50 = $50.
    # H is passed as unit_cost = $0.50 with holding_cost_rate = 1 (H = I * P).
    assert annual_carrying_cost(100, 0.50, 1.0) == pytest.approx(50)


@pytest.mark.parametrize(
    ("mean_daily_demand", "lead_time_days"), [(2.0, 1.0), (0.5, 4.0), (0.25, 8.0)]
)
def test_poisson_mean_2_position_3_stockout_probability_is_1_minus_0_8571(
    mean_daily_demand: float, lead_time_days: float
) -> None:
    # Cumulative Poisson table, lambda = 2, x = 3: F = 0.8571 -> P(X > 3) = 0.1429.
    p = stockout_probability(3, mean_daily_demand, 0, lead_time_days, distribution="poisson")
    assert p == pytest.approx(1 - 0.8571, abs=0.00005)


def test_poisson_mean_2_position_3_matches_hand_computed_tail() -> None:
    # Hand-computed: 1 - e^-2 * (1 + 2 + 2 + 4/3).
    exact = 1 - math.exp(-2) * (1 + 2 + 2 + 4 / 3)
    assert stockout_probability(3, 2, 0, 1, distribution="poisson") == pytest.approx(
        exact, rel=1e-12
    )


def test_poisson_fractional_position_is_floored_to_whole_units() -> None:
    # Integer demand cannot fall strictly between 3 and 4 units: 3.7 behaves like 3.
    p_3 = stockout_probability(3, 2, 0, 1, distribution="poisson")
    assert stockout_probability(3.7, 2, 0, 1, distribution="poisson") == pytest.approx(p_3)


def test_poisson_ignores_the_standard_deviations() -> None:
    base = stockout_probability(3, 2, 0, 1, distribution="poisson")
    assert stockout_probability(3, 2, 50, 1, 3, distribution="poisson") == pytest.approx(base)


def test_days_of_cover_is_on_hand_divided_by_daily_demand() -> None:
    # Hand-computed: 300 units / 20 per day = 15 days.
    assert days_of_cover(300, 20) == pytest.approx(15)


def test_annual_carrying_cost_is_units_times_unit_cost_times_rate() -> None:
    # Hand-computed: 250 units * $40 * 25 %/year = $2500/year.
    assert annual_carrying_cost(250, 40, 0.25) == pytest.approx(2500)


# Zero demand.


@pytest.mark.parametrize("distribution", ["normal", "poisson"])
@pytest.mark.parametrize("inventory_position", [0.0, 0.5, 1.0, 100.0])
def test_zero_demand_never_stocks_out_from_a_non_negative_position(
    inventory_position: float, distribution: Any
) -> None:
    p = stockout_probability(inventory_position, 0, 0, 7, 3, distribution=distribution)
    assert p == 0.0


@pytest.mark.parametrize("on_hand", [1.0, 250.0])
def test_zero_demand_gives_infinite_days_of_cover(on_hand: float) -> None:
    assert days_of_cover(on_hand, 0) == math.inf


def test_nothing_on_hand_gives_zero_days_of_cover_even_with_zero_demand() -> None:
    assert days_of_cover(0, 0) == 0.0
    assert days_of_cover(0, 5) == 0.0


def test_backorders_on_hand_give_zero_days_of_cover() -> None:
    assert days_of_cover(-10, 5) == 0.0


def test_zero_annual_demand_gives_zero_eoq() -> None:
    assert economic_order_quantity(0, 10, 0.5) == 0.0


def test_zero_order_cost_gives_zero_eoq() -> None:
    assert economic_order_quantity(1000, 0, 0.5) == 0.0


@pytest.mark.parametrize("service_level", [0.5, 0.9, 0.999])
def test_zero_demand_needs_no_safety_stock_and_reorders_at_zero(service_level: float) -> None:
    assert safety_stock(0, 0, 7, service_level, 3) == 0.0
    assert reorder_point(0, 0, 7, service_level, 3) == 0.0


def test_zero_demand_has_no_expected_shortage() -> None:
    assert expected_shortage(0, 0, 0, 7, 3) == 0.0


# Zero variance: lead-time demand is the constant d * L.


@pytest.mark.parametrize(
    ("inventory_position", "expected"),
    [(-5.0, 1.0), (0.0, 1.0), (9.99, 1.0), (10.0, 0.0), (10.01, 0.0), (1e6, 0.0)],
)
def test_zero_variance_stockout_probability_is_1_below_d_times_l_and_0_from_it_up(
    inventory_position: float, expected: float
) -> None:
    # d * L = 2 * 5 = 10.
    assert stockout_probability(inventory_position, 2, 0, 5) == expected


@pytest.mark.parametrize("inventory_position", [-5.0, 0.0, 7.0, 10.0, 12.0])
def test_zero_variance_expected_shortage_is_max_of_d_times_l_minus_position_and_0(
    inventory_position: float,
) -> None:
    assert expected_shortage(inventory_position, 2, 0, 5) == pytest.approx(
        max(2 * 5 - inventory_position, 0.0)
    )


@pytest.mark.parametrize("service_level", [0.01, 0.5, 0.95, 0.9999])
def test_zero_variance_needs_no_safety_stock_at_any_service_level(service_level: float) -> None:
    assert safety_stock(2, 0, 5, service_level) == 0.0
    assert reorder_point(2, 0, 5, service_level) == pytest.approx(10.0)


def test_zero_variance_fill_rate_is_1_minus_deterministic_shortage_over_q() -> None:
    # Hand-computed: d * L = 10, ROP = 6 -> 4 units short per cycle of Q = 20 -> 0.8.
    assert fill_rate(6, 20, 2, 0, 5) == pytest.approx(0.8)
    assert fill_rate(10, 20, 2, 0, 5) == pytest.approx(1.0)


def test_fill_rate_never_goes_below_zero_when_shortage_exceeds_q() -> None:
    # Hand-computed: d * L = 10, ROP = -100 -> 110 short per cycle of Q = 20; clipped to 0.
    assert fill_rate(-100, 20, 2, 0, 5) == 0.0


# Negative inventory position (backorders).


@pytest.mark.parametrize("mean_daily_demand", [0.0, 2.0])
def test_negative_position_with_zero_spread_stocks_out_with_probability_1(
    mean_daily_demand: float,
) -> None:
    assert stockout_probability(-3, mean_daily_demand, 0, 5) == 1.0


@pytest.mark.parametrize("mean_daily_demand", [0.0, 0.1, 2.0])
def test_negative_position_under_poisson_stocks_out_with_probability_1(
    mean_daily_demand: float,
) -> None:
    assert stockout_probability(-1, mean_daily_demand, 0, 5, distribution="poisson") == 1.0


def test_negative_position_with_spread_is_more_likely_to_stock_out_than_not() -> None:
    assert 0.5 < stockout_probability(-3, 2, 1, 5) < 1.0


def test_negative_position_expected_shortage_includes_the_backorders() -> None:
    # E[max(X - ip, 0)] >= E[X] - ip = 10 + 3.
    assert expected_shortage(-3, 2, 1, 5) >= 13.0


# Zero lead time.


@pytest.mark.parametrize("distribution", ["normal", "poisson"])
def test_zero_lead_time_without_lead_time_spread_cannot_stock_out_from_zero(
    distribution: Any,
) -> None:
    assert stockout_probability(0, 50, 10, 0, distribution=distribution) == 0.0


def test_zero_lead_time_without_lead_time_spread_needs_no_safety_stock() -> None:
    assert safety_stock(50, 10, 0, 0.95) == 0.0
    assert reorder_point(50, 10, 0, 0.95) == 0.0
    assert expected_shortage(0, 50, 10, 0) == 0.0
    assert fill_rate(0, 100, 50, 10, 0) == 1.0


def test_zero_lead_time_with_lead_time_spread_keeps_d_times_sd_l_as_spread() -> None:
    # Hand-computed: sigma = sqrt(0 * 10^2 + 50^2 * 2^2) = 100.
    assert float(lead_time_demand_sd(50, 10, 0, 2)) == pytest.approx(100)


# Reorder point definition.


@pytest.mark.parametrize(
    ("d", "sd", "lead_time", "service_level", "sd_lead_time"),
    [
        (2500, 500, 2, 0.90, 0),
        (2500, 500, 7, 0.90, 7),
        (3.5, 1.2, 14, 0.99, 2),
        (10, 4, 3, 0.30, 0),
        (0, 0, 5, 0.95, 0),
    ],
)
def test_reorder_point_is_mean_lead_time_demand_plus_safety_stock(
    d: float, sd: float, lead_time: float, service_level: float, sd_lead_time: float
) -> None:
    ss = safety_stock(d, sd, lead_time, service_level, sd_lead_time)
    assert reorder_point(d, sd, lead_time, service_level, sd_lead_time) == pytest.approx(
        d * lead_time + ss
    )


def test_reorder_point_set_at_service_level_gives_that_stockout_probability() -> None:
    rop = reorder_point(2500, 500, 7, 0.95, 7)
    assert stockout_probability(rop, 2500, 500, 7, 7) == pytest.approx(0.05, rel=1e-9)


def test_service_level_one_half_needs_no_safety_stock() -> None:
    assert safety_stock(2500, 500, 2, 0.5) == pytest.approx(0.0, abs=1e-9)


def test_service_level_below_one_half_gives_negative_safety_stock() -> None:
    assert safety_stock(2500, 500, 2, 0.1) == pytest.approx(-906, abs=0.5)


# Monotonicity over a grid (hypothesis is not installed).

POSITIONS = [x / 2 for x in range(-20, 121)]  # -10 .. 60 in steps of 0.5
DEMAND_GRID = [
    (2.0, 0.0, 10.0, 0.0),
    (2.0, 1.0, 10.0, 0.0),
    (2.0, 1.0, 10.0, 1.5),
    (0.3, 0.2, 30.0, 5.0),
    (5.0, 4.0, 3.0, 0.0),
]


@pytest.mark.parametrize("distribution", ["normal", "poisson"])
@pytest.mark.parametrize(("d", "sd", "lead_time", "sd_lead_time"), DEMAND_GRID)
def test_stockout_probability_never_rises_as_inventory_position_rises(
    d: float, sd: float, lead_time: float, sd_lead_time: float, distribution: Any
) -> None:
    probs = [
        stockout_probability(ip, d, sd, lead_time, sd_lead_time, distribution=distribution)
        for ip in POSITIONS
    ]
    assert all(0.0 <= p <= 1.0 for p in probs)
    assert all(later <= earlier for earlier, later in itertools.pairwise(probs))


@pytest.mark.parametrize(("d", "sd", "lead_time", "sd_lead_time"), DEMAND_GRID[1:])
def test_normal_stockout_probability_strictly_falls_with_spread(
    d: float, sd: float, lead_time: float, sd_lead_time: float
) -> None:
    mean = d * lead_time
    positions = [mean - 5, mean - 1, mean, mean + 1, mean + 5]
    probs = [stockout_probability(ip, d, sd, lead_time, sd_lead_time) for ip in positions]
    assert all(later < earlier for earlier, later in itertools.pairwise(probs))
    assert probs[2] == pytest.approx(0.5)


@pytest.mark.parametrize(("d", "sd", "lead_time", "sd_lead_time"), DEMAND_GRID)
def test_expected_shortage_never_rises_as_inventory_position_rises(
    d: float, sd: float, lead_time: float, sd_lead_time: float
) -> None:
    short = [expected_shortage(ip, d, sd, lead_time, sd_lead_time) for ip in POSITIONS]
    assert all(s >= 0.0 for s in short)
    assert all(later <= earlier for earlier, later in itertools.pairwise(short))


@pytest.mark.parametrize(("d", "sd", "lead_time"), [(2.0, 1.0, 10.0), (5.0, 4.0, 3.0)])
def test_fill_rate_never_falls_as_reorder_point_rises(
    d: float, sd: float, lead_time: float
) -> None:
    rates = [fill_rate(rop, 25, d, sd, lead_time) for rop in POSITIONS]
    assert all(0.0 <= r <= 1.0 for r in rates)
    assert all(later >= earlier for earlier, later in itertools.pairwise(rates))


@pytest.mark.parametrize("service_level", [0.05, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999])
def test_safety_stock_rises_with_service_level(service_level: float) -> None:
    assert safety_stock(10, 3, 5, service_level) < safety_stock(10, 3, 5, service_level + 0.0005)


# Validation.


@pytest.mark.parametrize("service_level", [0.0, 1.0, 1.2, -0.1, NAN])
@pytest.mark.parametrize("func", [safety_stock, reorder_point])
def test_service_level_outside_open_unit_interval_is_rejected_by_name(
    func: Callable[..., float], service_level: float
) -> None:
    with pytest.raises(ValueError, match=names("service_level")):
        func(10, 3, 5, service_level)


BASELINES: list[tuple[Callable[..., float], dict[str, Any]]] = [
    (
        stockout_probability,
        {
            "inventory_position": 10.0,
            "mean_daily_demand": 2.0,
            "sd_daily_demand": 1.0,
            "lead_time_days": 5.0,
            "sd_lead_time_days": 1.0,
        },
    ),
    (
        safety_stock,
        {
            "mean_daily_demand": 2.0,
            "sd_daily_demand": 1.0,
            "lead_time_days": 5.0,
            "service_level": 0.95,
            "sd_lead_time_days": 1.0,
        },
    ),
    (
        reorder_point,
        {
            "mean_daily_demand": 2.0,
            "sd_daily_demand": 1.0,
            "lead_time_days": 5.0,
            "service_level": 0.95,
            "sd_lead_time_days": 1.0,
        },
    ),
    (
        expected_shortage,
        {
            "inventory_position": 10.0,
            "mean_daily_demand": 2.0,
            "sd_daily_demand": 1.0,
            "lead_time_days": 5.0,
            "sd_lead_time_days": 1.0,
        },
    ),
    (
        fill_rate,
        {
            "reorder_point": 10.0,
            "order_quantity": 20.0,
            "mean_daily_demand": 2.0,
            "sd_daily_demand": 1.0,
            "lead_time_days": 5.0,
        },
    ),
    (
        economic_order_quantity,
        {"annual_demand": 1000.0, "order_cost": 10.0, "annual_holding_cost_per_unit": 0.5},
    ),
    (annual_carrying_cost, {"average_units": 100.0, "unit_cost": 0.5, "holding_cost_rate": 1.0}),
    (days_of_cover, {"on_hand": 300.0, "mean_daily_demand": 20.0}),
]

NAN_CASES = [
    pytest.param(func, kwargs, name, id=f"{func.__name__}-{name}")
    for func, kwargs in BASELINES
    for name in kwargs
]

LEAD_TIME_CASES = [
    pytest.param(func, kwargs, id=func.__name__)
    for func, kwargs in BASELINES
    if "lead_time_days" in kwargs
]


@pytest.mark.parametrize(
    ("func", "kwargs"), [pytest.param(f, kw, id=f.__name__) for f, kw in BASELINES]
)
def test_baseline_arguments_are_valid(func: Callable[..., float], kwargs: dict[str, Any]) -> None:
    assert math.isfinite(func(**kwargs))


@pytest.mark.parametrize(("func", "kwargs", "name"), NAN_CASES)
def test_nan_in_any_argument_is_rejected_naming_that_argument(
    func: Callable[..., float], kwargs: dict[str, Any], name: str
) -> None:
    with pytest.raises(ValueError, match=names(name)):
        func(**{**kwargs, name: NAN})


@pytest.mark.parametrize(("func", "kwargs"), LEAD_TIME_CASES)
def test_negative_lead_time_is_rejected_naming_lead_time_days(
    func: Callable[..., float], kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match=names("lead_time_days")):
        func(**{**kwargs, "lead_time_days": -1.0})


@pytest.mark.parametrize(
    "func", [stockout_probability, safety_stock, reorder_point, expected_shortage]
)
def test_negative_lead_time_spread_is_rejected_naming_sd_lead_time_days(
    func: Callable[..., float],
) -> None:
    kwargs = dict(next(kw for f, kw in BASELINES if f is func))
    with pytest.raises(ValueError, match=names("sd_lead_time_days")):
        func(**{**kwargs, "sd_lead_time_days": -1.0})


@pytest.mark.parametrize("name", ["mean_daily_demand", "sd_daily_demand"])
def test_negative_demand_or_demand_spread_is_rejected_by_name(name: str) -> None:
    kwargs = dict(BASELINES[0][1])
    with pytest.raises(ValueError, match=names(name)):
        stockout_probability(**{**kwargs, name: -1.0})


@pytest.mark.parametrize("order_quantity", [0.0, -1.0, -1e-9])
def test_fill_rate_rejects_non_positive_order_quantity(order_quantity: float) -> None:
    with pytest.raises(ValueError, match=names("order_quantity")):
        fill_rate(6000, order_quantity, 2500, 500, 2)


@pytest.mark.parametrize("holding_cost", [0.0, -0.5])
def test_eoq_rejects_non_positive_holding_cost(holding_cost: float) -> None:
    with pytest.raises(ValueError, match=names("annual_holding_cost_per_unit")):
        economic_order_quantity(1000, 10, holding_cost)


@pytest.mark.parametrize("distribution", ["gamma", "Normal", ""])
def test_unknown_distribution_is_rejected_by_name(distribution: Any) -> None:
    with pytest.raises(ValueError, match=names("distribution")):
        stockout_probability(10, 2, 1, 5, distribution=distribution)
