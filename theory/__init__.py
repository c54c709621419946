"""Exact Gaussian-Hermite algebra for the hierpoly audit, with numeric counterparts.

- :mod:`theory.hermite`: one dimension (He_n, h_n, moments, linearisation, links g).
- :mod:`theory.expansion`: :class:`HermiteExpansion`, the exact expansion of a polynomial in
  x ~ N(0, I_d) on h_α; projections P_j, norms, composition g∘p, rotations.
- :mod:`theory.spectrum`: degree spectrum ||P_j h||^2 and the kernel plateau.
- :mod:`theory.hypercontractivity`: exact ||f||_q^q for even q and the hypercontractive ratio.
- :mod:`theory.numeric`: float64 numpy / torch evaluation on samples (batched).
- :mod:`theory.sandwich`: the exact least-squares sandwich S(d), the predicted n*(d) and the
  network floor min_φ E(h − φ(P_{<=k} h))² for structured targets, at any d (import it directly).
"""
from .expansion import (
    HermiteExpansion,
    compose,
    expand,
    gaussian_expectation,
    h_basis,
    he_basis,
    rotate,
)
from .hermite import (
    Z,
    HermiteInputError,
    InexactCoefficientError,
    MultiIndexError,
    NegativeDegreeError,
    NotOrthogonalError,
    NotPolynomialError,
    UnknownSymbolError,
    UnsupportedCoefficientError,
    VariableMismatchError,
    gaussian_moment,
    h,
    he,
    information_exponent,
    link_derivative_mean,
    link_he_coefficients,
    link_h_coefficients,
    link_mean,
)
from .hypercontractivity import hypercontractive_ratio, lq_norm_power
from .spectrum import (
    ClosedFormSpectrum,
    closed_form_spectrum,
    degree_spectrum,
    plateau,
    plateau_curve,
    share_at_degree,
    top_degree_share,
    variance,
)

__all__ = [
    "HermiteExpansion",
    "expand",
    "gaussian_expectation",
    "compose",
    "rotate",
    "he_basis",
    "h_basis",
    "degree_spectrum",
    "plateau",
    "plateau_curve",
    "top_degree_share",
    "share_at_degree",
    "variance",
    "ClosedFormSpectrum",
    "closed_form_spectrum",
    "Z",
    "lq_norm_power",
    "hypercontractive_ratio",
    "he",
    "h",
    "gaussian_moment",
    "link_he_coefficients",
    "link_h_coefficients",
    "link_mean",
    "link_derivative_mean",
    "information_exponent",
    "HermiteInputError",
    "NotPolynomialError",
    "UnknownSymbolError",
    "NegativeDegreeError",
    "InexactCoefficientError",
    "UnsupportedCoefficientError",
    "MultiIndexError",
    "VariableMismatchError",
    "NotOrthogonalError",
]
