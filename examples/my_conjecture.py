"""A worked example: a new conjecture written as a property (README, "Adding a conjecture").

Run it with ``pytest examples/my_conjecture.py`` from the repository root, or copy it anywhere as
``test_*.py`` and run ``pytest`` there (the audit plugin is installed with hierpoly). The default
``pytest -n auto`` collects only ``tests/`` and ``checks/``, so this file is part of the audit only
when it is named.
"""
import torch
from hypothesis import given, settings

from checks.audit import claim_check
from checks.evidence import Verdict
from checks.registry import Claim, Kind, register
from checks.strategies import targets
from model import correlation, polynomial_space_dim, sample_inputs, train_layerwise

register(Claim("conjecture.example.eight-times-enough", Kind.CONJECTURE, "examples/my_conjecture.py",
               "For every target of the orthogonal class with k = 2, stage 1 on n = 8·C(d+2, 2) samples "
               "reaches 90% of its exact population correlation corr(P≤2 h, p)."))


@claim_check("conjecture.example.eight-times-enough")
def test_eight_times_enough(audit, seed):
    @settings(max_examples=3, deadline=None, derandomize=True, database=None)
    @given(h=targets(k=2, max_L=4, max_d=6))  # valid targets, drawn by the project's strategies
    def eight_times_enough(h):
        D = polynomial_space_dim(h.d, 2)
        gen = torch.Generator().manual_seed(seed)
        net, _ = train_layerwise(h, d=h.d, n1=8 * D, n2=0, m1=2 * D, m2=1, ridge1=1e-7, ridge2=0.0, generator=gen)
        x = sample_inputs(4096, h.d, generator=gen)
        corr = correlation(net.feature(x).detach(), h.feature.evaluate(x))
        limit = float(h.stage1_population_corr())  # exact, from theory
        audit.record(verdict=Verdict.SUPPORTED if corr >= 0.9 * limit else Verdict.REFUTED,
                     rule="corr(ĝ, p) on 4096 test points >= 0.9·corr(P≤2 h, p), the exact stage-1 limit",
                     key_figure=f"d={h.d}: corr {corr:.3f} vs 0.9·{limit:.3f}", parameters={"target": repr(h)})

    eight_times_enough()
