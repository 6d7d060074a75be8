import argparse

import pytest

from applications import cli


def test_int_list_parses_values():
    assert cli.int_list("1, 5,10") == [1, 5, 10]
    assert cli.non_negative_int_list("0,3") == [0, 3]
    assert cli.positive_int_list("2") == [2]


@pytest.mark.parametrize(
    "parser, text, match",
    [
        (cli.int_list, "1,x", "comma-separated integers"),
        (cli.int_list, ",", "at least one integer"),
        (cli.positive_int_list, "1,0", r"integers >= 1\. Received: '1,0'"),
        (cli.non_negative_int_list, "-1", r"integers >= 0"),
        (cli.positive_int, "0", r"integer >= 1\. Received: 0"),
        (cli.positive_int, "two", r"integer >= 1\. Received: 'two'"),
        (cli.non_negative_int, "-3", r"integer >= 0\. Received: -3"),
        (cli.positive_float, "0", r"number > 0"),
        (cli.positive_float, "nan", "finite"),
        (cli.non_negative_float, "-0.5", r"number >= 0"),
        (cli.float_list, "0,inf", "finite"),
        (cli.name_list, " , ", "at least one name"),
    ],
)
def test_parsers_reject_invalid_values(parser, text, match):
    with pytest.raises(argparse.ArgumentTypeError, match=match):
        parser(text)


def test_bounded_ints_accept_the_minimum():
    assert cli.positive_int("1") == 1
    assert cli.non_negative_int("0") == 0
