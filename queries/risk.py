"""Inventory mathematics: the public, scalar API and the array kernels the queries reuse.

Units: quantities in units, time in days, money in the database's currency. Demand during the
lead time is modelled as normal with mean ``d * L`` and standard deviation
``sqrt(L * sd_d**2 + d**2 * sd_L**2)`` (Chopra & Meindl, *Supply Chain Management*, ch. 12),
or, for slow movers, as Poisson with mean ``d * L``.

Edge cases: with no variability the lead-time demand is the constant ``d * L`` and the
probabilities become 0 or 1; zero demand gives infinite cover and a zero order quantity; a
negative inventory position (backorders) is allowed everywhere. A negative lead time, a NaN or
a service level outside (0, 1) raises ``ValueError`` naming the argument.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special

FloatArray = npt.NDArray[np.float64]
ArrayLike = float | FloatArray


def as_floats(*values: ArrayLike) -> tuple[FloatArray, ...]:
    """``values`` as float64 arrays broadcast to one shape."""
    return tuple(np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in values)))


Distribution = Literal["normal", "poisson"]


# Kernels: vectorised, no validation. Shared by the scalar API and the per-SKU queries.


def lead_time_demand_sd(
    mean_daily_demand: ArrayLike,
    sd_daily_demand: ArrayLike,
    lead_time_days: ArrayLike,
    sd_lead_time_days: ArrayLike,
) -> FloatArray:
    d, sd, lt, sd_lt = as_floats(
        mean_daily_demand, sd_daily_demand, lead_time_days, sd_lead_time_days
    )
    sigma: FloatArray = np.sqrt(lt * sd**2 + d**2 * sd_lt**2)
    return sigma


def normal_stockout_probability(
    inventory_position: ArrayLike, mean_lead_time_demand: ArrayLike, sigma: ArrayLike
) -> FloatArray:
    ip, mu, s = as_floats(inventory_position, mean_lead_time_demand, sigma)
    deterministic = np.where(mu > ip, 1.0, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (ip - mu) / s
    return np.where(s > 0, special.ndtr(-z), deterministic)


def poisson_stockout_probability(
    inventory_position: ArrayLike, mean_lead_time_demand: ArrayLike
) -> FloatArray:
    ip, mu = as_floats(inventory_position, mean_lead_time_demand)
    k = np.floor(ip)
    # F(k) is 0 below zero; pdtr(k, 0) is 1 for k >= 0 (no demand can exceed a non-negative position).
    cdf = np.where(k < 0, 0.0, special.pdtr(np.maximum(k, 0.0), mu))
    return 1.0 - cdf


def normal_loss(
    inventory_position: ArrayLike, mean_lead_time_demand: ArrayLike, sigma: ArrayLike
) -> FloatArray:
    """E[max(X - ip, 0)] for X ~ N(mu, sigma); max(mu - ip, 0) when sigma is zero."""
    ip, mu, s = as_floats(inventory_position, mean_lead_time_demand, sigma)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (ip - mu) / s
        loss = s * (np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi) - z * special.ndtr(-z))
    result: FloatArray = np.where(s > 0, loss, np.maximum(mu - ip, 0.0))
    return result


def service_factor(service_level: float) -> float:
    return float(special.ndtri(service_level))


def eoq(
    annual_demand: ArrayLike, order_cost: ArrayLike, annual_holding_cost_per_unit: ArrayLike
) -> FloatArray:
    d, s, h = as_floats(annual_demand, order_cost, annual_holding_cost_per_unit)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.sqrt(2.0 * d * s / h)
    return np.where((d > 0) & (h > 0), q, 0.0)


def shelf_life_capped(
    order_quantity: ArrayLike, mean_daily_demand: ArrayLike, shelf_life_days: ArrayLike
) -> FloatArray:
    """The order quantity, at most what sells at the mean demand within the shelf life (the
    perishable-goods limit on EOQ: a larger order expires before it is sold). A shelf life
    that is NaN (not a perishable) or not positive leaves the quantity as it is."""
    q, d, life = as_floats(order_quantity, mean_daily_demand, shelf_life_days)
    limited = np.isfinite(life) & (life > 0)
    return np.where(limited, np.minimum(q, d * np.where(limited, life, 0.0)), q)


def cover_days(on_hand: ArrayLike, mean_daily_demand: ArrayLike) -> FloatArray:
    q, d = as_floats(on_hand, mean_daily_demand)
    with np.errstate(divide="ignore", invalid="ignore"):
        days = q / d
    return np.where(q <= 0, 0.0, np.where(d > 0, days, math.inf))


# The public scalar API.


def _check(name: str, value: float, *, non_negative: bool = False) -> float:
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must be a number, got NaN")
    if non_negative and value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


def _lead_time_inputs(
    mean_daily_demand: float,
    sd_daily_demand: float,
    lead_time_days: float,
    sd_lead_time_days: float,
) -> tuple[float, float, float, float]:
    """The demand and lead time (mean and sd of each) checked: numbers, none negative."""
    named = {
        "mean_daily_demand": mean_daily_demand,
        "sd_daily_demand": sd_daily_demand,
        "lead_time_days": lead_time_days,
        "sd_lead_time_days": sd_lead_time_days,
    }
    d, sd, lt, sd_lt = (_check(name, value, non_negative=True) for name, value in named.items())
    return d, sd, lt, sd_lt


def _check_service_level(service_level: float) -> float:
    value = _check("service_level", service_level)
    if not 0.0 < value < 1.0:
        raise ValueError(f"service_level must be strictly between 0 and 1, got {value}")
    return value


def stockout_probability(
    inventory_position: float,
    mean_daily_demand: float,
    sd_daily_demand: float,
    lead_time_days: float,
    sd_lead_time_days: float = 0.0,
    distribution: Distribution = "normal",
) -> float:
    """P(demand over the lead time exceeds the inventory position), in [0, 1].

    Normal: 1 - Phi((ip - d*L) / sqrt(L*sd_d^2 + d^2*sd_L^2)). Poisson: 1 - F(floor(ip); d*L), the
    standard deviations ignored. With zero spread: 1 if d*L > ip else 0.
    """
    ip = _check("inventory_position", inventory_position)
    d, sd, lt, sd_lt = _lead_time_inputs(
        mean_daily_demand, sd_daily_demand, lead_time_days, sd_lead_time_days
    )
    if distribution == "poisson":
        return float(poisson_stockout_probability(ip, d * lt))
    if distribution != "normal":
        raise ValueError(f"distribution must be 'normal' or 'poisson', got {distribution!r}")
    return float(normal_stockout_probability(ip, d * lt, lead_time_demand_sd(d, sd, lt, sd_lt)))


def safety_stock(
    mean_daily_demand: float,
    sd_daily_demand: float,
    lead_time_days: float,
    service_level: float,
    sd_lead_time_days: float = 0.0,
) -> float:
    """Units held against lead-time demand variability: z(service_level) * sigma_LT."""
    d, sd, lt, sd_lt = _lead_time_inputs(
        mean_daily_demand, sd_daily_demand, lead_time_days, sd_lead_time_days
    )
    z = service_factor(_check_service_level(service_level))
    return float(z * lead_time_demand_sd(d, sd, lt, sd_lt))


def reorder_point(
    mean_daily_demand: float,
    sd_daily_demand: float,
    lead_time_days: float,
    service_level: float,
    sd_lead_time_days: float = 0.0,
) -> float:
    """Mean lead-time demand (d * L) plus the safety stock, in units."""
    ss = safety_stock(
        mean_daily_demand, sd_daily_demand, lead_time_days, service_level, sd_lead_time_days
    )
    return float(mean_daily_demand) * float(lead_time_days) + ss


def expected_shortage(
    inventory_position: float,
    mean_daily_demand: float,
    sd_daily_demand: float,
    lead_time_days: float,
    sd_lead_time_days: float = 0.0,
) -> float:
    """Expected units short per replenishment cycle: sigma_LT * G((ip - d*L) / sigma_LT)."""
    ip = _check("inventory_position", inventory_position)
    d, sd, lt, sd_lt = _lead_time_inputs(
        mean_daily_demand, sd_daily_demand, lead_time_days, sd_lead_time_days
    )
    return float(normal_loss(ip, d * lt, lead_time_demand_sd(d, sd, lt, sd_lt)))


def fill_rate(
    reorder_point: float,
    order_quantity: float,
    mean_daily_demand: float,
    sd_daily_demand: float,
    lead_time_days: float,
) -> float:
    """Share of demand met from stock in a (ROP, Q) policy: 1 - expected shortage / Q, in [0, 1]."""
    _check("reorder_point", reorder_point)
    q = _check("order_quantity", order_quantity)
    if q <= 0:
        raise ValueError(f"order_quantity must be positive, got {q}")
    shortage = expected_shortage(reorder_point, mean_daily_demand, sd_daily_demand, lead_time_days)
    return max(0.0, 1.0 - shortage / q)


def economic_order_quantity(
    annual_demand: float, order_cost: float, annual_holding_cost_per_unit: float
) -> float:
    """sqrt(2 * D * S / H) units (Harris 1913); zero for zero demand."""
    d = _check("annual_demand", annual_demand, non_negative=True)
    s = _check("order_cost", order_cost, non_negative=True)
    h = _check("annual_holding_cost_per_unit", annual_holding_cost_per_unit)
    if h <= 0:
        raise ValueError(f"annual_holding_cost_per_unit must be positive, got {h}")
    return float(eoq(d, s, h))


def annual_carrying_cost(average_units: float, unit_cost: float, holding_cost_rate: float) -> float:
    """average_units * unit_cost * holding_cost_rate, in money per year."""
    units = _check("average_units", average_units)
    cost = _check("unit_cost", unit_cost, non_negative=True)
    rate = _check("holding_cost_rate", holding_cost_rate, non_negative=True)
    return units * cost * rate


def days_of_cover(on_hand: float, mean_daily_demand: float) -> float:
    """on_hand / mean_daily_demand days; infinite for zero demand, zero when nothing is on hand."""
    q = _check("on_hand", on_hand)
    d = _check("mean_daily_demand", mean_daily_demand, non_negative=True)
    return float(cover_days(q, d))
