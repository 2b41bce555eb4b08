"""Atlas stack-language SLI sources as PromQL templates, and the refusals for what has no PromQL form."""

from __future__ import annotations

import pytest

from slo.atlas_promql import Untranslatable, atlas_template, error_ratio, render, source_template
from slo.model import MetricSource

COUNTS = '__name__=~"x_total|x_count"'


@pytest.mark.parametrize(
    ("query", "selector"),
    [
        pytest.param("name,x,:eq,:sum", "{" + COUNTS + "}", id="a counter is its _total or its _count"),
        pytest.param("name,x,:eq", "{" + COUNTS + "}", id="a query left on the stack is its sum"),
        pytest.param(
            "name,x,:eq,status,200,:eq,:and,:sum",
            "{" + COUNTS + ', status="200"}',
            id=":eq clauses joined with :and become label matchers",
        ),
        pytest.param(
            "name,x,:eq,status,5xx,:eq,:not,:and",
            "{" + COUNTS + ', status!="5xx"}',
            id=":not of :eq is != (both keep series without the key)",
        ),
        pytest.param(
            "name,x,:eq,status,5,:re,:and",
            "{" + COUNTS + ', status=~"5.*"}',
            id=":re is anchored at the start only, so it gains a trailing .*",
        ),
        pytest.param(
            "name,x,:eq,status,4|5,:re,:and",
            "{" + COUNTS + ', status=~"(?:4|5).*"}',
            id="an alternation is grouped before the trailing .*",
        ),
        pytest.param(
            "name,x,:eq,status,err,:reic,:and",
            "{" + COUNTS + ', status=~"(?i)err.*"}',
            id=":reic becomes a case-insensitive regex",
        ),
        pytest.param(
            "name,x,:eq,status,a*,:re,:and",
            "{" + COUNTS + ', status=~"a*.*", status!=""}',
            id="a regex matching the empty string also requires the label, as Atlas does",
        ),
        pytest.param(
            "name,x,:eq,status,5,:re,:not,:and",
            "{" + COUNTS + ', status!~"5.*"}',
            id=":not of :re is !~",
        ),
        pytest.param(
            "name,x,:eq,status,(,500,503,),:in,:and",
            "{" + COUNTS + ', status=~"500|503"}',
            id=":in is an alternation of the values",
        ),
        pytest.param(
            "name,x,:eq,host,(,a.b,c+d,),:in,:and",
            "{" + COUNTS + r', host=~"a\\.b|c\\+d"}',
            id=":in values are regex-escaped, then escaped again for the string literal",
        ),
        pytest.param(
            "name,x,:eq,status,(,500,),:in,:and",
            "{" + COUNTS + ', status="500"}',
            id=":in with one value is an equality",
        ),
        pytest.param(
            "name,x,:eq,status,(,500,503,),:in,:not,:and",
            "{" + COUNTS + ', status!~"500|503"}',
            id=":not of :in is !~",
        ),
        pytest.param(
            "name,x,:eq,region,:has,:and", "{" + COUNTS + ', region!=""}', id=":has is a non-empty label"
        ),
        pytest.param(
            "name,x,:eq,region,:has,:not,:and",
            "{" + COUNTS + ', region=""}',
            id=":not of :has is an empty label",
        ),
        pytest.param(
            "name,x,:eq,nf.app,www,:eq,:and,nf.cluster,www-main,:eq,:and",
            "{" + COUNTS + ', nf_app="www", nf_cluster="www-main"}',
            id="the scraper's nf.* tags map to the relabelled nf_* labels",
        ),
        pytest.param(
            "name,x,:eq,1st,a,:eq,:and", "{" + COUNTS + ', _1st="a"}', id="a key with a leading digit gains _"
        ),
        pytest.param(
            'name,x,:eq,path,a"b\\c,:eq,:and',
            "{" + COUNTS + r', path="a\"b\\c"}',
            id="quotes and backslashes in values are escaped for PromQL",
        ),
        pytest.param(
            "name,playback.starts,:eq",
            '{__name__=~"playback_starts_total|playback_starts_count"}',
            id="dots in the name become underscores",
        ),
        pytest.param(
            "name,x,:eq,statistic,count,:eq,:and",
            "{" + COUNTS + "}",
            id="statistic=count selects the counts and is dropped",
        ),
        pytest.param(
            "name,lat,:eq,le,0.5,:eq,:and", 'lat_bucket{le="0.5"}', id="an le clause selects the buckets"
        ),
        pytest.param(
            "name,lat,:eq,statistic,percentile,:eq,:and,le,+Inf,:eq,:and",
            'lat_bucket{le="+Inf"}',
            id="statistic=percentile selects the buckets and is dropped",
        ),
        pytest.param(
            "name,(,a,b,),:in,le,1,:eq,:and",
            '{__name__=~"a_bucket|b_bucket", le="1"}',
            id="several names give an alternation of their buckets",
        ),
        pytest.param(
            "name,(,a,b,),:in",
            '{__name__=~"a_total|a_count|b_total|b_count"}',
            id="several names give an alternation of their counts",
        ),
        pytest.param(
            "name,x,:eq,(,nf.app,),:by",
            "{" + COUNTS + "}",
            id="a group-by is summed away: an SLI is one ratio",
        ),
        pytest.param(
            "name,x,:eq,:sum,errors,:legend", "{" + COUNTS + "}", id="presentation words are ignored"
        ),
    ],
)
def test_atlas_sum_becomes_a_rate_template(query, selector):
    assert atlas_template(query) == f"sum(rate({selector}[{{{{.window}}}}]))"


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        pytest.param("name,x,:eq,a,b,:eq,:or", ":or has no PromQL selector", id=":or is refused"),
        pytest.param("name,x,:eq,:max", ":max does not count events", id="an aggregate other than sum"),
        pytest.param("name,x,:eq,:count", ":count does not count events", id=":count counts series"),
        pytest.param("name,x,:eq,:sum,2,:mul", ":mul has no PromQL translation", id="math is refused"),
        pytest.param("name,x,:eq,:avg", ":avg has no PromQL translation", id="a macro is refused"),
        pytest.param(
            "name,x,:eq,:sum,3,:rolling-count", ":rolling-count has no", id="stateful words are refused"
        ),
        pytest.param("name,x,:eq,:sum,1h,:offset", ":offset shifts", id="an offset is refused"),
        pytest.param(
            "name,x,:eq,(,a,),:by,(,99,),:percentiles", ":percentiles has no", id="percentiles are refused"
        ),
        pytest.param("42", "a constant number has no", id="a constant is refused"),
        pytest.param("name,x,:eq,name,y,:eq", "leaves 2 expressions", id="two expressions are refused"),
        pytest.param("name,x,:eq,(", "does not parse", id="a parse error is passed on"),
        pytest.param("nf.app,www,:eq", "no name clause", id="a query without a name is refused"),
        pytest.param(":true", "no name clause", id=":true alone has no name"),
        pytest.param("name,x,:re", "name must be matched exactly", id="a regex on the name is refused"),
        pytest.param(
            "name,x,:eq,name,y,:eq,:and", "more than one name clause", id="two name clauses are refused"
        ),
        pytest.param("name,x,:eq,k,v,:contains,:and", ":contains has no PromQL", id=":contains is refused"),
        pytest.param("name,x,:eq,k,v,:lt,:and", ":lt has no PromQL", id="string comparisons are refused"),
        pytest.param(
            "name,x,:eq,a,b,:eq,c,d,:eq,:and,:not,:and",
            ":not over a combination",
            id=":not of an :and is refused",
        ),
        pytest.param(
            "name,x,:eq,k,a*,:re,:not,:and",
            "matches the empty string",
            id=":not of a regex matching the empty string is refused",
        ),
        pytest.param(
            "name,x,:eq,statistic,gauge,:eq,:and",
            "statistic=gauge does not count events",
            id="a gauge statistic is refused",
        ),
        pytest.param(
            "name,x,:eq,statistic,count,:eq,:and,le,1,:eq,:and",
            "matches nothing",
            id="statistic=count with an le clause is refused",
        ),
        pytest.param(
            "name,x,:eq,statistic,(,count,percentile,),:in,:and",
            "statistic must be one :eq",
            id="a statistic matched with :in is refused",
        ),
    ],
)
def test_untranslatable_atlas_queries_name_the_reason(query, reason):
    with pytest.raises(Untranslatable) as caught:
        atlas_template(query)
    assert reason in str(caught.value)


def test_a_prometheus_source_passes_through_with_its_placeholder():
    query = 'sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))'
    assert source_template(MetricSource("prometheus", f"  {query}\n")) == query


def test_a_prometheus_source_without_the_placeholder_is_refused_with_the_fix():
    with pytest.raises(Untranslatable, match=r"no \{\{\.window\}\} placeholder.*\[\{\{\.window\}\}\]"):
        source_template(MetricSource("prometheus", "sum(rate(http_requests_total[5m]))"))


def test_an_atlas_source_is_translated():
    assert source_template(MetricSource("atlas", "name,x,:eq")) == atlas_template("name,x,:eq")


@pytest.mark.parametrize(
    "template",
    [
        pytest.param("rate(x[{{.window}}])", id="Sloth's placeholder"),
        pytest.param("rate(x[{{ .window }}])", id="the same Go template action with spaces"),
    ],
)
def test_render_substitutes_the_window(template):
    assert render(template, "30m") == "rate(x[30m])"


def test_a_bad_over_total_ratio_keeps_sloths_layout():
    assert error_ratio("T", bad="B") == "(B)\n/\n(T)"


def test_a_good_over_total_ratio_is_one_minus_it():
    assert error_ratio("T", good="G") == "1 - (\n(G)\n/\n(T)\n)"
