"""The paper's assumptions by name: the vocabulary in which features and targets report what
they violate (``Feature.violations``) and in which claims list what they need
(``checks.registry.Claim.assumptions``).

The names belong to the mathematics, so they live here; the claim registry imports them, and
importing ``theory`` never touches the audit.
"""
from __future__ import annotations

__all__ = [
    "GAUSSIAN",
    "ORTHOGONAL",
    "BALANCED",
    "MANY_COMPONENTS",
    "HOMOGENEOUS",
    "NORMALISED",
    "INFO_EXP_1",
    "CENTRED_LINK",
    "WIDTH",
    "ACTIVATION_DEGREE",
    "SAMPLES",
    "ALL_ASSUMPTIONS",
]

GAUSSIAN = "gaussian-inputs"
ORTHOGONAL = "orthogonal-subspaces"
BALANCED = "balanced-lambda"
MANY_COMPONENTS = "L=Theta(d)"
HOMOGENEOUS = "p-homogeneous-degree-k"
NORMALISED = "p-normalised"
INFO_EXP_1 = "E[g']!=0"
CENTRED_LINK = "E[g]=0"
WIDTH = "m1>=dim(degree<=k polynomials)"
ACTIVATION_DEGREE = "sigma1-degree-exactly-k"
SAMPLES = "n>>d^k"

ALL_ASSUMPTIONS = (GAUSSIAN, ORTHOGONAL, BALANCED, MANY_COMPONENTS, HOMOGENEOUS, NORMALISED, INFO_EXP_1,
                   CENTRED_LINK, WIDTH, ACTIVATION_DEGREE, SAMPLES)
