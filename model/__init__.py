"""The model side of the hierpoly audit: network (1), Algorithm 1, joint training, baselines.

Everything is torch; device and dtype follow the caller (``device=``, ``dtype=``; float64 and the
generator's device by default), and every random draw takes an explicit keyword-only
``generator`` (a ``torch.Generator``). Targets are anything with ``evaluate(x)`` on an (n, d)
float64 batch (``theory.features`` objects, or a hand-made class).

Training (each returns ``(model, info)``, info a JSON-ready dict)::

    train_layerwise(target, *, d, n1, n2, m1, m2, ridge1, ridge2, generator, k=None,
                    sigma1="hermite", sigma1_degree=None, input_law="gaussian", noise_std=0.0,
                    method="closed-form" | "gd", solver="auto" | "primal" | "dual", device, dtype)
    train_joint(target, *, d, n, m1, m2, generator, k=None, sigma1="monomial", lr=1e-3,
                batch_size=None, stopping=StoppingRule(...), output_init="mup", device, dtype)
    train_joint_batch(target, *, d, ns, m1, m2, generators, ...)   # S runs as one stacked model
    train_joint_many([train_joint keyword dicts], max_batch=None)  # groups compatible runs, keeps order
    train_stage1_batch(target, *, d, n1, m1, ridge1, generators, ...)  # stage 1 of S runs, batched

    train_one_step(target, *, d, n1, n2, width, inner_width=None, eta1, ridge, generator,
                   sigma1="relu", input_law="gaussian", ...)      # Nichani–Damian–Lee 2023's one step
    select_one_step_hyperparameters(target, *, ..., n_validation=2**15, eta1_multiples, ridge_grid)

Lower level (on given data): ``init_three_layer``, ``fit_stage1``, ``fit_stage2``,
``fit_layerwise``, ``ridge_solve``, ``ridge_gradient_descent``, ``train_adam``,
``mup_param_groups``.

Baselines (on given tensors; each returns ``(predictor, info)``, the predictor has ``predict(x)``)::

    fit_kernel_ridge(x, y, *, kernel="polynomial" | "arccos" | "ntk", ridge, **kernel_params)
    fit_random_features(x, y, *, width, ridge, generator, bias=True)
    train_two_layer(data, *, width, generator, lr, stopping, batch_size)   # (module, info)
    fit_hermite_oracle(x, y, *, k, ridge=0.0)     # least squares on the exact h_α, |α| <= k

Data and metrics: ``sample_inputs(n, d, *, generator, law)`` (laws: gaussian, rademacher,
sphere, cube; unit variance per coordinate), ``make_dataset``, ``split_samples``;
``normalised_test_mse``, ``correlation``, ``squared_distance``, ``feature_metrics``,
``target_variance``; exact polynomial bookkeeping: ``hermite_coordinates`` (the h_α coordinates of
a polynomial from its values), ``ols_sandwich_constant`` and ``ols_excess_risk`` (the least-squares
risk S/(n − D − 1) of a degree-<=k fit, S computed exactly).

Ridge convention everywhere: minimise (1/n) Σ (f(x_i) − y_i)² + ξ‖w‖² (kernel ridge: (K + nξI)⁻¹y,
scikit-learn's ``alpha = n·ξ``). Widths: ``theory_widths(d, k, alpha)`` = (⌈d^{k+α}⌉, ⌈d^α⌉),
``experiment_widths(d)`` = (d², 1000); ``polynomial_space_dim(d, k)`` = C(d+k, k).

Errors: bad input raises :class:`ModelInputError` (a ValueError) naming the violated assumption;
an untrustworthy solve raises :class:`SolverError` (a ValueError); a non-finite training loss
raises :class:`NonFiniteLossError` (a FloatingPointError) instead of returning NaN.
"""
from .baselines import (
    KERNELS,
    HermiteOracleModel,
    KernelRidgeModel,
    RandomFeaturesModel,
    TwoLayerReLU,
    arccos_kernel,
    fit_hermite_oracle,
    fit_kernel_ridge,
    fit_random_features,
    hermite_features,
    hermite_multi_indices,
    kernel_matrix,
    plug_in_hermite_step,
    polynomial_kernel,
    relu_ntk_kernel,
    train_two_layer,
)
from .data import INPUT_LAWS, Dataset, ModelInputError, Target, evaluate_on, make_dataset, sample_inputs, split_samples
from .joint import StoppingRule, mup_param_groups, train_adam, train_joint
from .batched import train_joint_batch, train_joint_many, train_stage1_batch
from .layerwise import (
    NonFiniteLossError,
    SolverError,
    fit_layerwise,
    fit_stage1,
    fit_stage2,
    ridge_gradient_descent,
    ridge_solve,
    train_layerwise,
)
from .metrics import (
    HermiteCoordinates,
    MeanEstimate,
    correlation,
    feature_metrics,
    hermite_coordinates,
    normalised_test_mse,
    ols_excess_risk,
    ols_sandwich_constant,
    projection_values,
    squared_distance,
    target_variance,
)
from .onestep import OneStepNet, init_one_step, select_one_step_hyperparameters, train_one_step
from .network import (
    PolynomialActivation,
    ThreeLayerNet,
    experiment_widths,
    init_three_layer,
    make_sigma1,
    polynomial_space_dim,
    theory_widths,
)

__all__ = [
    "KERNELS", "INPUT_LAWS",
    "ModelInputError", "SolverError", "NonFiniteLossError",
    "Target", "Dataset", "sample_inputs", "evaluate_on", "make_dataset", "split_samples",
    "PolynomialActivation", "make_sigma1", "ThreeLayerNet", "init_three_layer",
    "polynomial_space_dim", "theory_widths", "experiment_widths",
    "ridge_solve", "ridge_gradient_descent", "fit_stage1", "fit_stage2", "fit_layerwise", "train_layerwise",
    "StoppingRule", "mup_param_groups", "train_adam", "train_joint", "train_joint_batch", "train_joint_many",
    "train_stage1_batch",
    "OneStepNet", "init_one_step", "train_one_step", "select_one_step_hyperparameters",
    "polynomial_kernel", "arccos_kernel", "relu_ntk_kernel", "kernel_matrix",
    "KernelRidgeModel", "fit_kernel_ridge", "RandomFeaturesModel", "fit_random_features",
    "TwoLayerReLU", "train_two_layer",
    "hermite_multi_indices", "hermite_features", "HermiteOracleModel", "fit_hermite_oracle", "plug_in_hermite_step",
    "MeanEstimate", "squared_distance", "correlation", "target_variance", "normalised_test_mse",
    "projection_values", "feature_metrics", "HermiteCoordinates", "hermite_coordinates",
    "ols_sandwich_constant", "ols_excess_risk",
]
