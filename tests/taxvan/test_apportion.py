import pytest

from taxvan.apportion import apportion


def test_shares_sum_exactly_to_the_total():
    """However the weights fall, the units handed out add up to the total."""
    for total in (0, 1, 7, 90, 101):
        out = apportion(total, {"a": 1.0, "b": 2.0, "c": 3.3, "d": 0.7})
        assert sum(out.values()) == total


def test_largest_remainder_gives_leftover_units_to_the_largest_fractions():
    """Quotas 4.6, 3.8, 1.6 -> floors 4, 3, 1 and the two spare units go to .8 then .6."""
    assert apportion(10, {"a": 0.46, "b": 0.38, "c": 0.16}) == {"a": 5, "b": 4, "c": 1}
    # Equal weights: the tie goes to the key given first.
    assert apportion(10, {"a": 1, "b": 1, "c": 1}) == {"a": 4, "b": 3, "c": 3}


def test_floor_lifts_small_keys_and_costs_the_big_ones():
    """A street with few remote taxpayers still gets its floor; the others pay for it."""
    out = apportion(30, {"big": 95, "mid": 4, "tiny": 1}, floor=3)
    assert out["tiny"] == 3 and out["mid"] == 3
    assert out["big"] == 24
    assert sum(out.values()) == 30


def test_zero_weights_get_only_the_floor():
    out = apportion(20, {"a": 0, "b": 10}, floor=2)
    assert out == {"a": 2, "b": 18}


def test_floor_that_cannot_be_met_is_refused():
    with pytest.raises(ValueError, match="floor"):
        apportion(5, {"a": 1, "b": 1, "c": 1}, floor=2)


def test_negative_weight_is_refused():
    with pytest.raises(ValueError):
        apportion(5, {"a": -1, "b": 1})
