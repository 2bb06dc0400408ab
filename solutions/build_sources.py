"""Write the nbgrader source notebooks solutions/<id>/<id>.ipynb from the cells below.

Run it after changing an assignment here, then `make assignments`:

    .venv/bin/python solutions/build_sources.py && make assignments

The notebooks it writes are the committed sources; this script only keeps
their nbgrader metadata consistent (every graded cell gets a grade_id and
points, every test cell opens with a docstring). It lives at the top of
solutions/, not in an assignment folder, so nbgrader never releases it.
"""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


# ---------------------------------------------------------------- cell kinds
def _meta(grade_id, *, grade, solution, locked, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _src(text):
    return textwrap.dedent(text).strip("\n")


def md(text):
    """Plain prose, not graded."""
    return nbformat.v4.new_markdown_cell(_src(text))


def setup(grade_id, text):
    """Read-only code the student runs but may not change (nbgrader restores it)."""
    return nbformat.v4.new_code_cell(_src(text), metadata=_meta(grade_id, grade=False, solution=False, locked=True))


def answer(grade_id, text):
    """Autograded answer cell: the solution sits between ### BEGIN/END SOLUTION."""
    text = _src(text)
    assert "### BEGIN SOLUTION" in text and "### END SOLUTION" in text, grade_id
    return nbformat.v4.new_code_cell(text, metadata=_meta(grade_id, grade=False, solution=True, locked=False))


def written(grade_id, points, text):
    """Manually graded written answer (markdown)."""
    text = _src(text)
    assert "### BEGIN SOLUTION" in text, grade_id
    return nbformat.v4.new_markdown_cell(text, metadata=_meta(grade_id, grade=True, solution=True, locked=False,
                                                              points=points))


HIDDEN_NOTICE = "These tests are hidden: they run when your notebook is graded."


def tests(grade_id, points, text):
    """Autograded test cell; it must open with a docstring and end without a bare expression."""
    text = _src(text)
    assert text.startswith('"""'), f"{grade_id}: a test cell opens with a docstring"
    assert grade_id.startswith("test_"), grade_id
    if "### BEGIN HIDDEN TESTS" in text:
        # The release keeps what precedes the marker: a docstring alone would be echoed as the cell's output.
        text = text.replace("### BEGIN HIDDEN TESTS", f"print({HIDDEN_NOTICE!r})\n### BEGIN HIDDEN TESTS", 1)
    return nbformat.v4.new_code_cell(text, metadata=_meta(grade_id, grade=True, solution=False, locked=True,
                                                          points=points))


def hidden(references, run, checks):
    """Hidden-test body: switch the course's reference implementations off, run the student's code, assert.

    ``references`` are dotted names inside mle_helpers. Swapping ``__code__``
    reaches every name a student may have bound to them (``from ... import``
    included); ``finally`` puts them back even when the student's code raises.
    The asserts after it are direct, so replacing mh.checks gains nothing.
    """
    ref_list = ", ".join(f"mle_helpers.{name}" for name in references)
    modules = sorted({"mle_helpers." + name.rsplit(".", 1)[0] for name in references})
    return (
        "### BEGIN HIDDEN TESTS\n"
        "import warnings\n"
        + "".join(f"import {module}\n" for module in modules)
        + "def _unavailable(*args, **kwargs):\n"
        '    raise RuntimeError("this test switches off the course\'s reference implementation: write your own")\n'
        f"_references = [{ref_list}]\n"
        "_saved_code = [f.__code__ for f in _references]\n"
        "try:\n"
        "    for f in _references:\n"
        "        f.__code__ = _unavailable.__code__\n"
        "    with warnings.catch_warnings():  # a warning on stderr would score this cell 0\n"
        '        warnings.simplefilter("ignore")\n'
        + textwrap.indent(_src(run), " " * 8) + "\n"
        "finally:\n"
        "    for f, code in zip(_references, _saved_code):\n"
        "        f.__code__ = code\n"
        + _src(checks) + "\n"
        "### END HIDDEN TESTS"
    )


def source_notebook(assignment, cells):
    """The nbgrader source notebook of one assignment, checked, not yet written."""
    nb = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": KERNELSPEC, "language_info": {"name": "python"}})
    ids = [c.metadata["nbgrader"]["grade_id"] for c in cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), f"{assignment}: duplicate grade_id"
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{assignment}-{i:02d}"  # stable ids keep diffs small
    total = sum(c.metadata["nbgrader"].get("points", 0) for c in cells if "nbgrader" in c.metadata)
    nb.cells[0].source = nb.cells[0].source.replace("{points}", f"{total:g}")
    nbformat.validate(nb)
    return nb


def write(assignment, cells):
    nb = source_notebook(assignment, cells)
    path = HERE / assignment / f"{assignment}.ipynb"
    path.parent.mkdir(exist_ok=True)
    nbformat.write(nb, path)
    return path


def instructions(title, chapter):
    return md(f"""
    # {title}

    *Maximum Likelihood Estimation with PyTorch*: graded assignment to the chapter(s) {chapter}.
    Worth **{{points}} points**.

    How to work on it:

    - Replace every `raise NotImplementedError()` with your code and every *YOUR ANSWER HERE* with your
      own words. Keep the function names and arguments: the tests call them.
    - The cells that start with a docstring are tests. Run them: they are silent when your answer is
      right and tell you what to look at when it is not. Hidden tests (fresh data, other seeds, the
      properties of the method you were asked for) are added when your work is graded, so make the
      method right, not only the number.
    - Before you hand it in: *Kernel -> Restart Kernel and Run All Cells*, then nbgrader's *Validate*.
    - Notation: $\\mathcal N(m, v)$ names the **variance** $v$; `X` is the data matrix (one row per
      point), `mu` the mean, `sigma` the covariance matrix, `lr` the learning rate.
    """)


# ---------------------------------------------------------------- ps1
def ps1():
    return [
        instructions("Problem set 1: closed-form estimators", "*Why the log*, *Gaussian*, *Linear regression*, *Bernoulli*"),
        setup("setup", """
        import math

        import torch

        import mle_helpers as mh

        torch.set_default_dtype(torch.float64)
        """),
        md("""
        ## Part A: why the log (written, 3 points)

        The likelihood of $n$ i.i.d. points is the product $\\prod_i p(x_i \\mid \\theta)$; we almost always
        maximise its logarithm $\\sum_i \\log p(x_i \\mid \\theta)$ instead.
        """),
        md("**A1 (2 points).** Give one *analytic* reason and one *numerical* reason for working with the log-likelihood."),
        written("why_log_reasons", 2, """
        ### BEGIN SOLUTION
        *Analytic:* the log turns the product over data points into a sum, and the exponentials of the
        usual families (Gaussian, Bernoulli) into polynomials, so the derivative is a sum of simple
        terms that can be set to zero and solved. Sums also behave well under expectations and the law
        of large numbers.

        *Numerical:* a product of thousands of densities below 1 underflows to 0.0 in floating point
        (and one above 1 can overflow); its log is a sum of moderate numbers. Gradients of the sum are
        well scaled, whereas the gradient of the product is the product times the gradient of the sum.
        ### END SOLUTION
        """),
        md("**A2 (1 point).** Does taking the log change the estimator? Why (not)?"),
        written("why_log_estimator", 1, """
        ### BEGIN SOLUTION
        No. The log is strictly increasing, so $\\log f(\\theta) > \\log f(\\theta')$ exactly when
        $f(\\theta) > f(\\theta')$: the likelihood and the log-likelihood have their maximum at the same
        $\\theta$. Only the value of the maximum changes, not where it is.
        ### END SOLUTION
        """),
        md("""
        ## Part B: the univariate Gaussian (3 points)

        $x_1, \\dots, x_n$ are i.i.d. $\\mathcal N(\\mu, \\sigma^2)$. Write `gaussian_mle_1d(x)` that returns the
        maximum likelihood estimates `(mu_hat, sigma2_hat)` for a 1-D tensor `x`. Use the formulas you derive,
        not `mh.estimators`.
        """),
        answer("gaussian_mle_1d", """
        def gaussian_mle_1d(x):
            \"\"\"MLE (mu_hat, sigma2_hat) of a univariate Gaussian from a 1-D tensor x.\"\"\"
            ### BEGIN SOLUTION
            mu_hat = x.mean()
            sigma2_hat = ((x - mu_hat) ** 2).mean()
            return mu_hat, sigma2_hat
            ### END SOLUTION
        """),
        tests("test_gaussian_mle_1d_visible", 1, '''
        """Self-check: the MLE of mu and sigma^2 for a sample with mean 2 and variance 4."""
        x_check = mh.data.sample_gaussian(200, 2.0, 4.0, seed=1)
        mh.checks.check_gaussian_mle(*gaussian_mle_1d(x_check), x_check)
        '''),
        tests("test_gaussian_mle_1d_hidden", 2, '"""Hidden tests: fresh samples, down to n = 2."""\n' + hidden(
            ["estimators.gaussian_mle"],
            """
            g = torch.Generator().manual_seed(11)
            samples = [torch.randn(n, generator=g) * scale + shift
                       for n, scale, shift in [(2, 1.0, 0.0), (7, 0.3, -5.0), (1000, 10.0, 100.0)]]
            results = [gaussian_mle_1d(x_new) for x_new in samples]
            """,
            """
            for x_new, (mu_got, var_got) in zip(samples, results):
                mu_ref = x_new.sum() / len(x_new)
                var_ref = ((x_new - mu_ref) ** 2).sum() / len(x_new)
                assert abs(float(mu_got) - mu_ref.item()) <= 1e-9 * (1 + abs(mu_ref.item())), "mu_hat is wrong"
                assert abs(float(var_got) - var_ref.item()) <= 1e-9 * (1 + var_ref.item()), "sigma2_hat is wrong"
            """)),
        md("""
        ## Part C: linear regression (3 points)

        $y_i = a x_i + b + \\varepsilon_i$ with i.i.d. $\\varepsilon_i \\sim \\mathcal N(0, \\sigma^2)$. Write
        `linreg_mle(x, y)` returning the MLE `(a_hat, b_hat, sigma2_hat)`.
        """),
        answer("linreg_mle", """
        def linreg_mle(x, y):
            \"\"\"MLE (a_hat, b_hat, sigma2_hat) of y = a x + b + noise, noise ~ N(0, sigma^2).\"\"\"
            ### BEGIN SOLUTION
            dx, dy = x - x.mean(), y - y.mean()
            a_hat = (dx * dy).sum() / (dx ** 2).sum()
            b_hat = y.mean() - a_hat * x.mean()
            sigma2_hat = ((y - a_hat * x - b_hat) ** 2).mean()
            return a_hat, b_hat, sigma2_hat
            ### END SOLUTION
        """),
        tests("test_linreg_mle_visible", 1, '''
        """Self-check: slope, intercept and noise variance on data from y = 1.5 x - 0.5 + noise."""
        x_check, y_check = mh.data.sample_linear(100, 1.5, -0.5, 0.8, seed=2)
        mh.checks.check_linreg_mle(*linreg_mle(x_check, y_check), x_check, y_check)
        '''),
        tests("test_linreg_mle_hidden", 2, '"""Hidden tests: fresh data; the residuals of the fit are orthogonal to 1 and x."""\n' + hidden(
            ["estimators.linreg_mle"],
            """
            g = torch.Generator().manual_seed(12)
            x_new = torch.rand(40, generator=g) * 10 + 3
            y_new = -2.0 * x_new + 7.0 + torch.randn(40, generator=g) * 0.5
            a_got, b_got, var_got = (float(v) for v in linreg_mle(x_new, y_new))
            """,
            """
            residuals = y_new - a_got * x_new - b_got
            # the normal equations of least squares: residuals sum to 0 and are orthogonal to x
            assert abs(residuals.sum().item()) < 1e-8, "b_hat does not make the residuals sum to zero"
            assert abs((residuals * x_new).sum().item()) < 1e-6, "a_hat does not solve the normal equations"
            assert abs(var_got - (residuals ** 2).mean().item()) < 1e-10, "sigma2_hat must be the mean squared residual"
            """)),
        md("""
        ## Part D: a coin, MAP and the Bayesian predictive (7 points)

        The tosses are `mh.data.COIN_TOSSES` $= (0, 0, 1, 1, 0, 0, 1)$ with $1$ = heads and
        $P(x_i = 1 \\mid \\theta) = \\theta$.

        **Convention.** The prior $p(\\theta) = \\mathcal N(0.5, 0.1)$ has mean $0.5$ and **variance**
        $0.1$ (standard deviation $\\sqrt{0.1} \\approx 0.316$), restricted to $(0, 1)$. Some write
        $\\mathcal N(m, s)$ with $s$ the standard deviation: with $s = 0.1$ the MAP would be about $0.484$,
        not the value this course expects.

        **D1 (3 points).** Write `bernoulli_map(x, prior_mean, prior_var)` returning $\\theta_{MAP}$, the
        maximiser on $(0, 1)$ of $h \\log\\theta + t \\log(1-\\theta) - (\\theta - m)^2 / (2v)$ for $h$ heads and
        $t$ tails. Any correct numerical method is fine (bisection on the derivative is robust: the log
        posterior is strictly concave).
        """),
        answer("bernoulli_map", """
        def bernoulli_map(x, prior_mean, prior_var):
            \"\"\"theta_MAP for 0/1 tosses x under the prior N(prior_mean, prior_var), prior_var a variance.\"\"\"
            ### BEGIN SOLUTION
            heads = float(sum(x))
            tails = len(x) - heads

            def slope(theta):  # derivative of the log posterior; it decreases in theta
                return heads / theta - tails / (1 - theta) - (theta - prior_mean) / prior_var

            low, high = 1e-12, 1 - 1e-12
            for _ in range(100):
                mid = (low + high) / 2
                if slope(mid) > 0:
                    low = mid
                else:
                    high = mid
            return (low + high) / 2
            ### END SOLUTION
        """),
        tests("test_bernoulli_map_visible", 1, '''
        """Self-check: theta_MAP for the course's seven tosses under N(0.5, 0.1), 0.1 the variance."""
        mh.checks.check_bernoulli_map(bernoulli_map(mh.data.COIN_TOSSES, 0.5, 0.1), mh.data.COIN_TOSSES, 0.5, 0.1)
        '''),
        tests("test_bernoulli_map_hidden", 2, '"""Hidden tests: other tosses and priors; the derivative of the log posterior vanishes at your theta."""\n' + hidden(
            ["estimators.bernoulli_map"],
            """
            cases = [((1, 1, 1, 1, 0), 0.3, 0.05), ((0,) * 9 + (1,), 0.6, 0.5), ((1, 0) * 20, 0.9, 0.01)]
            got = [float(bernoulli_map(tosses, m, v)) for tosses, m, v in cases]
            """,
            """
            for (tosses, m, v), theta in zip(cases, got):
                h = sum(tosses)
                t = len(tosses) - h
                assert 0 < theta < 1, f"theta_MAP must lie in (0, 1); got {theta}"
                slope = h / theta - t / (1 - theta) - (theta - m) / v
                # |slope| is small relative to its terms at the maximiser
                assert abs(slope) < 1e-6 * (h / theta + t / (1 - theta) + 1), f"not a maximiser: slope {slope:.3g} at {theta}"
            """)),
        md("""
        **D2 (2 points).** Using your $\\theta_{MAP}$ from D1, store in `p_two_tails` the probability
        $P(x_8 = 0, x_9 = 0 \\mid \\theta_{MAP})$ of two more tails.
        """),
        answer("p_two_tails", """
        ### BEGIN SOLUTION
        theta_map = bernoulli_map(mh.data.COIN_TOSSES, 0.5, 0.1)
        p_two_tails = (1 - theta_map) ** 2
        ### END SOLUTION
        print(f"P(two tails | theta_MAP) = {p_two_tails:.4f}")
        """),
        tests("test_p_two_tails_visible", 1, '''
        """Self-check: two tosses are independent given theta, so P(two tails) = (1 - theta_MAP)^2 with your theta_MAP."""
        mh.checks.check_close("p_two_tails", p_two_tails, (1 - float(bernoulli_map(mh.data.COIN_TOSSES, 0.5, 0.1))) ** 2,
                              rtol=1e-6, hint="Use theta_MAP from D1 (prior variance 0.1): P = (1 - theta_MAP)^2.")
        '''),
        tests("test_p_two_tails_hidden", 1, '''
        """Hidden test: the exact value."""
        ### BEGIN HIDDEN TESTS
        theta_exact = 1 / math.sqrt(5)  # 3/theta - 4/(1 - theta) - (theta - 0.5)/0.1 = 0 there
        assert abs(3 / theta_exact - 4 / (1 - theta_exact) - (theta_exact - 0.5) / 0.1) < 1e-9
        assert abs(float(p_two_tails) - (1 - theta_exact) ** 2) < 1e-6
        ### END HIDDEN TESTS
        '''),
        md("""
        **D3 (2 points).** With the uniform prior $\\mathcal U(0, 1)$ instead, the posterior is a Beta
        distribution. Write `predictive_head(x)` returning $P(x_{n+1} = 1 \\mid x_1, \\dots, x_n)$.
        """),
        answer("predictive_head", """
        def predictive_head(x):
            \"\"\"P(next toss is heads | x) under a uniform prior on theta.\"\"\"
            ### BEGIN SOLUTION
            heads = float(sum(x))
            return (heads + 1) / (len(x) + 2)  # mean of Beta(1 + heads, 1 + tails)
            ### END SOLUTION
        """),
        tests("test_predictive_head_visible", 1, '''
        """Self-check: the predictive for the seven tosses; it is not the MLE 3/7."""
        got = predictive_head(mh.data.COIN_TOSSES)
        if abs(float(got) - 3 / 7) < 1e-9:
            raise AssertionError("predictive_head returned 3/7, the MLE; under a uniform prior the posterior is Beta(1 + heads, 1 + tails).")
        mh.checks.check_close("predictive_head(COIN_TOSSES)", got, mh.estimators.predictive_head(mh.data.COIN_TOSSES),
                              hint="It is the mean of the Beta posterior, alpha / (alpha + beta).")
        '''),
        tests("test_predictive_head_hidden", 1, '"""Hidden tests: no tosses at all, all heads, a long run."""\n' + hidden(
            ["estimators.predictive_head", "estimators.beta_posterior"],
            """
            got = [float(predictive_head(tosses)) for tosses in [(), (1, 1, 1), (0, 1) * 50 + (1,)]]
            """,
            """
            expected = [1 / 2, 4 / 5, 52 / 103]  # (heads + 1) / (n + 2) (Laplace's rule of succession)
            assert all(abs(a - b) < 1e-12 for a, b in zip(got, expected)), f"got {got}"
            """)),
    ]


# ---------------------------------------------------------------- ps2
SETUP_2D = """
import torch

import mle_helpers as mh

torch.set_default_dtype(torch.float64)
mh.set_theme()

n = 10_000
mu_true = torch.tensor([1.0, 1.0])
sigma = 5 * torch.eye(2)  # the covariance, known; we estimate the mean
X = mh.data.sample_gaussian(n, mu_true, sigma, seed=0)  # data matrix, shape (n, 2)
mu0 = torch.tensor([-1.0, -1.0])  # where every optimiser starts
"""

SETUP_2D_MD = """
The data: $n = 10\\,000$ points from $\\mathcal N(\\mu, \\Sigma)$ with $\\mu = (1, 1)$ and $\\Sigma = 5 I$.
$\\Sigma$ is known; we estimate $\\mu$ by maximising the log-likelihood `mh.L(X, mu, sigma)`
$= \\sum_i \\log \\mathcal N(x_i; \\mu, \\Sigma)$. Its maximiser is the sample mean $\\bar x$, which we use only
to check the numerical answers.
"""


def ps2():
    return [
        instructions("Problem set 2: gradient ascent with autograd", "*Gradient ascent*"),
        md(SETUP_2D_MD),
        setup("setup", SETUP_2D),
        md("""
        ## Task 1: gradient ascent on mu (6 points)

        Write `gradient_ascent(X, sigma, mu0, lr, num_steps)`. Start from a copy of `mu0` that requires
        grad; at every step compute `mh.L(X, mu, sigma)`, let autograd compute the gradient, and update

        $$\\mu_{t+1} = \\mu_t + \\mathrm{lr} \\cdot \\nabla_\\mu L(\\mu_t).$$

        Return the whole path: a tensor of shape `(num_steps + 1, 2)` whose first row is `mu0`. Do not
        change `mu0` itself, and do not call `mh.ascent` (the graded tests switch it off).
        """),
        answer("gradient_ascent", """
        def gradient_ascent(X, sigma, mu0, lr, num_steps):
            \"\"\"Gradient ascent on mu from mu0; returns the (num_steps + 1, 2) path, mu0 first.\"\"\"
            ### BEGIN SOLUTION
            mu = mu0.detach().clone().requires_grad_(True)
            path = [mu.detach().clone()]
            for _ in range(num_steps):
                log_lik = mh.L(X, mu, sigma)
                log_lik.backward()
                with torch.no_grad():
                    mu += lr * mu.grad
                mu.grad.zero_()
                path.append(mu.detach().clone())
            return torch.stack(path)
            ### END SOLUTION
        """),
        tests("test_gradient_ascent_visible", 2, '''
        """Self-check: 50 steps with lr = 1e-4 follow mu_t + lr * grad exactly and reach the sample mean."""
        check_path = gradient_ascent(X, sigma, mu0, 1e-4, 50)
        mh.checks.check_gradient_ascent_path(check_path, X, sigma, mu0, 1e-4, 50)
        mh.checks.check_converged(check_path[-1], X)
        '''),
        tests("test_gradient_ascent_hidden", 4, '"""Hidden tests: fresh data, a correlated sigma, another start; every step is exactly mu_t + lr * grad L(mu_t)."""\n' + hidden(
            ["ascent.gradient_ascent", "ascent.optimizer_path", "estimators.gaussian_mle"],
            """
            g = torch.Generator().manual_seed(2718)
            X_new = torch.randn(3000, 2, generator=g) @ torch.tensor([[2.0, 0.0], [0.6, 1.0]]).T + torch.tensor([0.5, -2.0])
            sigma_new = torch.tensor([[3.0, 0.8], [0.8, 2.0]])
            mu0_new = torch.tensor([3.0, 1.5])
            path_new = gradient_ascent(X_new, sigma_new, mu0_new, 2e-4, 25)
            """,
            """
            assert torch.equal(mu0_new, torch.tensor([3.0, 1.5])), "gradient_ascent changed mu0 in place"
            path_new = torch.stack([torch.as_tensor(p).detach().to(torch.float64) for p in path_new])
            assert path_new.shape == (26, 2), f"path shape {tuple(path_new.shape)}"
            expected = torch.tensor([3.0, 1.5])
            assert torch.allclose(path_new[0], expected), "the path must start at mu0"
            for t in range(25):  # grad L(mu) = n sigma^-1 (xbar - mu)
                expected = expected + 2e-4 * 3000 * torch.linalg.solve(sigma_new, X_new.mean(0) - expected)
                assert torch.allclose(path_new[t + 1], expected, rtol=1e-8, atol=1e-10), f"step {t + 1} is not mu_t + lr * grad"
            """)),
        md("""
        ## Task 2: the path on the likelihood surface (1 point)

        Run your function with the `lr` and `num_steps` below, store the path in `path`, and draw it on the
        log-likelihood heatmap with `mh.vizualize(X, path, sigma)`; keep the Axes it returns in `ax`.
        """),
        answer("plot_path", """
        lr = 1e-4
        num_steps = 50
        ### BEGIN SOLUTION
        path = gradient_ascent(X, sigma, mu0, lr, num_steps)
        ax = mh.vizualize(X, path, sigma)
        ax.set_title(f"Gradient ascent, lr = {lr:g}, {num_steps} steps")
        ### END SOLUTION
        """),
        tests("test_plot_path", 1, '''
        """The Axes `ax` shows the path computed with lr = 1e-4 and 50 steps."""
        mh.checks.check_gradient_ascent_path(path, X, sigma, mu0, 1e-4, 50)
        mh.checks.check_path_drawn(ax, path)
        '''),
        md("""
        ## Task 3: the learning rate (6 points)

        **3a (3 points, written).** Try a few learning rates (for example `1e-5`, `1e-4`, `5e-4`, `9e-4`,
        `1.1e-3`) and describe how `lr` affects convergence. Explain what you see with the update: for
        $\\Sigma = \\sigma^2 I$, write $\\mu_{t+1} - \\bar x$ in terms of $\\mu_t - \\bar x$.
        """),
        answer("lr_experiments", """
        # Your experiments (not graded by a test; keep them short)
        ### BEGIN SOLUTION
        for trial_lr in [1e-5, 1e-4, 5e-4, 9e-4, 1.1e-3]:
            trial = gradient_ascent(X, sigma, mu0, trial_lr, 50)
            error = (trial[-1] - X.mean(0)).norm().item()
            print(f"lr = {trial_lr:7.1e}: distance to the sample mean after 50 steps = {error:.3g}")
        ### END SOLUTION
        """),
        written("lr_effect", 3, """
        ### BEGIN SOLUTION
        The gradient is $\\nabla L(\\mu) = n \\Sigma^{-1} (\\bar x - \\mu)$, so with $\\Sigma = \\sigma^2 I$ one step gives
        $\\mu_{t+1} - \\bar x = (1 - \\mathrm{lr}\\, n / \\sigma^2)(\\mu_t - \\bar x)$: the error is multiplied by the
        same factor every step. Here $n/\\sigma^2 = 2000$.

        - A small `lr` (factor just below 1, e.g. 0.98 for `1e-5`) converges, but slowly: after 50 steps the
          path has covered only part of the way.
        - `lr = 5e-4` makes the factor 0: one step lands on $\\bar x$. Between `1e-4` and `5e-4` the path walks
          straight to the maximum, faster as `lr` grows.
        - Above `5e-4` the factor is negative: the path overshoots and zig-zags across the maximum, still
          converging while $|1 - \\mathrm{lr}\\, n/\\sigma^2| < 1$, i.e. for `lr < 1e-3` (slowly near `9e-4`).
        - At `lr >= 2 sigma^2 / n = 1e-3` the error does not shrink; above it grows geometrically and
          the path diverges (`1.1e-3`).

        The stable range depends on the data through $n$ and $\\sigma^2$: doubling the data halves the
        largest stable learning rate.
        ### END SOLUTION
        """),
        md("""
        **3b (3 points).** Write `largest_stable_lr(n, variance)`: for $\\Sigma = $ `variance` $\\cdot I$ and
        `n` points, the learning rate at which gradient ascent on $\\mu$ stops converging (every smaller
        positive `lr` converges). Then store its value for this problem in `lr_max`.
        """),
        answer("largest_stable_lr", """
        def largest_stable_lr(n, variance):
            \"\"\"The supremum of the learning rates for which gradient ascent on mu converges.\"\"\"
            ### BEGIN SOLUTION
            return 2.0 * variance / n
            ### END SOLUTION

        lr_max = largest_stable_lr(n, 5.0)
        print(f"lr_max = {lr_max:g}")
        """),
        tests("test_largest_stable_lr_visible", 1, '''
        """Self-check: just below lr_max gradient ascent contracts, just above it it diverges."""
        mh.checks.check_stability_boundary(lr_max, n, 5.0)
        '''),
        tests("test_largest_stable_lr_hidden", 2, '"""Hidden tests: other n and variances, checked by running gradient ascent with autograd on either side of the boundary."""\n' + hidden(
            ["ascent.gradient_ascent"],
            """
            problems = [(500, 2.0), (40, 0.5)]
            boundaries = [float(largest_stable_lr(n_new, var_new)) for n_new, var_new in problems]
            """,
            """
            g = torch.Generator().manual_seed(31)
            for (n_new, var_new), boundary in zip(problems, boundaries):
                X_new = torch.randn(n_new, 2, generator=g) * var_new ** 0.5
                errors = []
                for factor in (0.97, 1.03):
                    mu = torch.tensor([1.0, -1.0], requires_grad=True)
                    for _ in range(300):
                        mh.L(X_new, mu, var_new * torch.eye(2)).backward()
                        with torch.no_grad():
                            mu += factor * boundary * mu.grad
                        mu.grad.zero_()
                    errors.append((mu.detach() - X_new.mean(0)).norm().item())
                assert errors[0] < 1e-2, f"lr = 0.97 * largest_stable_lr({n_new}, {var_new}) does not converge"
                assert errors[1] > 10, f"lr = 1.03 * largest_stable_lr({n_new}, {var_new}) still converges"
            """)),
    ]


# ---------------------------------------------------------------- ps3
def ps3():
    return [
        instructions("Problem set 3: torch.optim", "*Gradient ascent* and *Optimizers*"),
        md(SETUP_2D_MD),
        setup("setup", SETUP_2D),
        md("""
        ## Task 1: one loop for every optimiser (6 points)

        `torch.optim` optimisers **minimise**. Write `fit_with_optimizer(X, sigma, mu0, make_optimizer, num_steps)`
        that minimises the negative log-likelihood `nll = -mh.L(X, mu, sigma)` over `mu`, starting from a copy
        of `mu0`. `make_optimizer` is a function that takes the list of parameters `[mu]` and returns the
        optimiser, for example `lambda params: torch.optim.SGD(params, lr=1e-4)`. Return the path, shape
        `(num_steps + 1, 2)`, `mu0` first. Remember `optimizer.zero_grad()` at every step.
        """),
        answer("fit_with_optimizer", """
        def fit_with_optimizer(X, sigma, mu0, make_optimizer, num_steps):
            \"\"\"Minimise -L(X, mu, sigma) over mu with the optimiser make_optimizer([mu]); returns the path.\"\"\"
            ### BEGIN SOLUTION
            mu = mu0.detach().clone().requires_grad_(True)
            optimizer = make_optimizer([mu])
            path = [mu.detach().clone()]
            for _ in range(num_steps):
                optimizer.zero_grad()
                nll = -mh.L(X, mu, sigma)
                nll.backward()
                optimizer.step()
                path.append(mu.detach().clone())
            return torch.stack(path)
            ### END SOLUTION
        """),
        tests("test_fit_with_optimizer_visible", 2, '''
        """Self-check: plain SGD on the negative log-likelihood is exactly gradient ascent on L."""
        check_path = fit_with_optimizer(X, sigma, mu0, lambda params: torch.optim.SGD(params, lr=1e-4), 30)
        mh.checks.check_gradient_ascent_path(
            check_path, X, sigma, mu0, 1e-4, 30,
            downhill_hint="torch optimisers minimise: minimise nll = -mh.L(X, mu, sigma), not L.")
        '''),
        tests("test_fit_with_optimizer_hidden", 4, '"""Hidden tests: fresh data; SGD with momentum must follow the heavy-ball recursion of torch.optim exactly."""\n' + hidden(
            ["ascent.gradient_ascent", "ascent.optimizer_path", "estimators.gaussian_mle"],
            """
            g = torch.Generator().manual_seed(314)
            X_new = torch.randn(2000, 2, generator=g) * 1.5 + torch.tensor([-2.0, 0.5])
            sigma_new = torch.tensor([[2.0, -0.5], [-0.5, 1.0]])
            mu0_new = torch.tensor([1.0, 2.0])
            path_new = fit_with_optimizer(X_new, sigma_new, mu0_new,
                                          lambda params: torch.optim.SGD(params, lr=1e-4, momentum=0.8), 20)
            """,
            """
            assert torch.equal(mu0_new, torch.tensor([1.0, 2.0])), "fit_with_optimizer changed mu0 in place"
            path_new = torch.stack([torch.as_tensor(p).detach().to(torch.float64) for p in path_new])
            assert path_new.shape == (21, 2), f"path shape {tuple(path_new.shape)}"
            mu, velocity = torch.tensor([1.0, 2.0]), torch.zeros(2)
            assert torch.allclose(path_new[0], mu), "the path must start at mu0"
            for t in range(20):  # torch's SGD: v = momentum * v + grad(nll); mu = mu - lr * v
                grad_nll = -2000 * torch.linalg.solve(sigma_new, X_new.mean(0) - mu)
                velocity = 0.8 * velocity + grad_nll
                mu = mu - 1e-4 * velocity
                assert torch.allclose(path_new[t + 1], mu, rtol=1e-8, atol=1e-10), f"step {t + 1} differs from SGD with momentum"
            """)),
        md("""
        ## Task 2: three optimisers (2 points)

        Fill in the three factories: plain SGD, SGD with momentum, and Adam, with learning rates of your
        choice such that each path gets within `0.05` of the sample mean in `num_steps = 200` steps. Then
        store the paths in the dictionary `paths` (the keys are given).
        """),
        answer("three_optimizers", """
        num_steps = 200

        def make_sgd(params):
            ### BEGIN SOLUTION
            return torch.optim.SGD(params, lr=1e-4)
            ### END SOLUTION

        def make_momentum(params):
            ### BEGIN SOLUTION
            return torch.optim.SGD(params, lr=1e-4, momentum=0.5)
            ### END SOLUTION

        def make_adam(params):
            ### BEGIN SOLUTION
            return torch.optim.Adam(params, lr=0.1)
            ### END SOLUTION

        optimizers = {"SGD": make_sgd, "momentum": make_momentum, "Adam": make_adam}
        paths = {name: fit_with_optimizer(X, sigma, mu0, make, num_steps) for name, make in optimizers.items()}
        for name, optimizer_path in paths.items():
            print(f"{name:>8}: final mu = {optimizer_path[-1].numpy().round(4)}")
        """),
        tests("test_three_optimizers", 2, '''
        """Each factory makes the optimiser it names, and each path ends within 0.05 of the sample mean."""
        mh.checks.check_optimizer_kinds(make_sgd, make_momentum, make_adam)
        for name, optimizer_path in paths.items():
            mh.checks.check_path(optimizer_path, mu0, 200)
            mh.checks.check_converged(optimizer_path[-1], X, atol=0.05, name=f"the {name} path's end")
        '''),
        md("""
        ## Task 3: compare them (4 points)

        **3a (1 point).** Draw each path on its own heatmap: make `fig, axes = plt.subplots(1, 3, ...)` and call
        `mh.vizualize(X, paths[name], sigma, ax=...)` once per optimiser, in the order of `paths`.
        """),
        answer("plot_optimizers", """
        import matplotlib.pyplot as plt

        ### BEGIN SOLUTION
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
        for ax, (name, optimizer_path) in zip(axes, paths.items()):
            mh.vizualize(X, optimizer_path, sigma, ax=ax, bounds=(-2, 2))
            ax.set_title(name)
        fig.tight_layout()
        ### END SOLUTION
        """),
        tests("test_plot_optimizers", 1, '''
        """Every optimiser's path is drawn on its own Axes, in the order of `paths`."""
        if len(axes) != len(paths):
            raise AssertionError(f"axes has {len(axes)} Axes; expected one per optimiser ({len(paths)})")
        for ax_check, optimizer_path in zip(axes, paths.values()):
            mh.checks.check_path_drawn(ax_check, optimizer_path)
        '''),
        written("optimizers_differ", 3, """
        **3b (3 points).** How do the three paths differ, and why? Refer to the update rule of each optimiser.

        ### BEGIN SOLUTION
        *Plain SGD* takes `lr` times the gradient, $n \\Sigma^{-1}(\\bar x - \\mu)$: big steps far from the
        maximum, small ones near it, so the path runs straight at $\\bar x$ and slows down geometrically. Its
        stable `lr` is tied to the curvature $n/\\sigma^2$ (here below $10^{-3}$).

        *Momentum* adds a running sum of past gradients: the path accelerates while the gradient keeps its
        direction and overshoots slightly before settling, reaching the neighbourhood of $\\bar x$ in fewer
        steps for the same `lr` (with too much momentum it oscillates).

        *Adam* divides each coordinate's averaged gradient by the root of its averaged square, so each step
        has length about `lr` per coordinate whatever the scale of the gradient. The path starts along the
        diagonal at constant speed independently of $n$ and $\\sigma^2$ (no need to tune `lr` to the
        curvature), and near the maximum it wanders by about `lr` until the averages decay; `lr` therefore
        sets both its speed and its final accuracy. Adam's scale invariance is why it is the default for
        models whose gradients have very different scales; on this quadratic, well-tuned SGD is as good.
        ### END SOLUTION
        """),
    ]


# ---------------------------------------------------------------- ps4
def ps4():
    return [
        instructions("Problem set 4: stochastic and minibatch gradients", "*Stochastic gradients*"),
        md(SETUP_2D_MD),
        setup("setup", SETUP_2D + "lr = 1e-4\nnum_steps = 100\n"),
        md("""
        ## Task 1: minibatch gradient ascent (6 points)

        Write `minibatch_ascent(X, sigma, mu0, lr, num_steps, batch_size, seed)`. At every step draw
        `batch_size` **distinct** rows of `X` at random (use one `torch.Generator().manual_seed(seed)` for the
        whole run, so the same seed gives the same path) and ascend the estimate

        $$\\hat L(\\mu) = \\frac{n}{k} \\sum_{i \\in \\text{batch}} \\log \\mathcal N(x_i; \\mu, \\Sigma),
        \\qquad k = \\text{batch\\_size},$$

        i.e. `(n / batch_size) * mh.L(X[rows], mu, sigma)`. The factor $n/k$ makes $\\hat L$ and its gradient
        unbiased estimates of $L$ and $\\nabla L$, so the same `lr` means the same step size for every $k$.
        With `batch_size = n` every step uses all the data and the path is the full-batch path. Return the
        path, shape `(num_steps + 1, 2)`, `mu0` first.
        """),
        answer("minibatch_ascent", """
        def minibatch_ascent(X, sigma, mu0, lr, num_steps, batch_size, seed):
            \"\"\"Minibatch gradient ascent on mu with (n / batch_size) * L(batch); returns the path.\"\"\"
            ### BEGIN SOLUTION
            generator = torch.Generator().manual_seed(seed)
            n_rows = X.shape[0]
            mu = mu0.detach().clone().requires_grad_(True)
            path = [mu.detach().clone()]
            for _ in range(num_steps):
                rows = torch.randperm(n_rows, generator=generator)[:batch_size]
                estimate = (n_rows / batch_size) * mh.L(X[rows], mu, sigma)
                estimate.backward()
                with torch.no_grad():
                    mu += lr * mu.grad
                mu.grad.zero_()
                path.append(mu.detach().clone())
            return torch.stack(path)
            ### END SOLUTION
        """),
        tests("test_minibatch_ascent_visible", 2, '''
        """Self-check: batch_size = n is full-batch ascent; batch_size = 1 steps towards one data point; seeds reproduce."""
        full = minibatch_ascent(X, sigma, mu0, lr, 20, batch_size=n, seed=0)
        mh.checks.check_gradient_ascent_path(full, X, sigma, mu0, lr, 20)
        single = minibatch_ascent(X, sigma, mu0, lr, 20, batch_size=1, seed=0)
        mh.checks.check_single_point_steps(single, X, sigma, mu0, lr, 20)
        mh.checks.check_reproducible(
            lambda seed: minibatch_ascent(X, sigma, mu0, lr, 20, batch_size=10, seed=seed))
        '''),
        tests("test_minibatch_ascent_hidden", 4, '"""Hidden tests: fresh data and sigma; k = n equals the full-batch recursion; k = 1 steps aim at rows of X; seeds."""\n' + hidden(
            ["ascent.gradient_ascent", "ascent.optimizer_path"],
            """
            g = torch.Generator().manual_seed(4242)
            X_new = torch.randn(700, 2, generator=g) * torch.tensor([2.0, 0.7]) + torch.tensor([-1.0, 3.0])
            sigma_new = torch.tensor([[1.5, 0.3], [0.3, 0.8]])
            mu0_new = torch.tensor([2.0, 2.0])
            full_new = minibatch_ascent(X_new, sigma_new, mu0_new, 3e-4, 15, 700, 5)
            single_new = minibatch_ascent(X_new, sigma_new, mu0_new, 3e-4, 15, 1, 5)
            again_new = minibatch_ascent(X_new, sigma_new, mu0_new, 3e-4, 15, 1, 5)
            other_new = minibatch_ascent(X_new, sigma_new, mu0_new, 3e-4, 15, 1, 6)
            """,
            """
            assert torch.equal(mu0_new, torch.tensor([2.0, 2.0])), "minibatch_ascent changed mu0 in place"
            full_new, single_new, again_new, other_new = (
                torch.stack([torch.as_tensor(p).detach().to(torch.float64) for p in path])
                for path in (full_new, single_new, again_new, other_new))
            assert full_new.shape == single_new.shape == (16, 2)
            mu = torch.tensor([2.0, 2.0])
            for t in range(15):  # k = n: the exact full-batch step
                mu = mu + 3e-4 * 700 * torch.linalg.solve(sigma_new, X_new.mean(0) - mu)
                assert torch.allclose(full_new[t + 1], mu, rtol=1e-8, atol=1e-10), f"batch_size = n: step {t + 1} is not the full-batch step"
            # k = 1: mu_{t+1} = mu_t + lr * n * sigma^-1 (x_i - mu_t), so x_i = mu_t + sigma (mu_{t+1} - mu_t) / (lr n)
            aimed_at = single_new[:-1] + (single_new[1:] - single_new[:-1]) @ sigma_new / (3e-4 * 700)
            distance_to_data = torch.cdist(aimed_at, X_new).min(dim=1).values
            assert distance_to_data.max() < 1e-6, "batch_size = 1: a step does not aim at a single row of X scaled by n / k"
            assert torch.equal(single_new, again_new), "the same seed must give the same path"
            assert not torch.equal(single_new, other_new), "another seed must give another path"
            """)),
        md("""
        ## Task 2: the effect of the batch size (5 points)

        **2a (2 points).** Run `minibatch_ascent` for every `batch_size` in `batch_sizes` with `seed=0`, the
        `lr` and `num_steps` of the setup, and store the paths in the dictionary `paths` keyed by batch size.
        Plot the distance $\\lVert \\mu_t - \\bar x \\rVert$ against $t$ for every $k$ (a log scale helps).
        """),
        answer("batch_size_runs", """
        import matplotlib.pyplot as plt

        batch_sizes = [1, 10, 100, 1000, n]
        ### BEGIN SOLUTION
        paths = {k: minibatch_ascent(X, sigma, mu0, lr, num_steps, batch_size=k, seed=0) for k in batch_sizes}
        fig, ax = plt.subplots()
        for k, batch_path in paths.items():
            ax.semilogy((batch_path - X.mean(0)).norm(dim=1), label=f"k = {k}")
        ax.set(xlabel="step t", ylabel="distance to the sample mean", title=f"Minibatch ascent, lr = {lr:g}")
        ax.legend()
        ### END SOLUTION
        """),
        tests("test_batch_size_runs", 2, '''
        """`paths` holds one path per batch size; single-point steps end far noisier than full-batch steps."""
        mh.checks.check_batch_size_runs(paths, batch_sizes, X, mu0, num_steps)
        '''),
        written("batch_size_effect", 3, """
        **2b (3 points).** What does $k$ do to convergence? Consider the first steps, the end of the run, and
        the cost of a step.

        ### BEGIN SOLUTION
        With the $n/k$ scaling every $k$ uses an unbiased gradient, so the *average* step is the full-batch
        step: all paths head for $\\bar x$ at the same rate at first (the contraction $1 - \\mathrm{lr}\\,n/\\sigma^2$).
        The difference is the noise. The batch mean of $k$ rows has variance about $\\sigma^2/k$, so with a
        constant `lr` the path does not converge to $\\bar x$: it ends in a cloud around it whose size shrinks
        like $1/\\sqrt{k}$ (large for $k = 1$, tiny for $k = 1000$, zero for $k = n$, where the steps are exact).
        A step costs $O(k)$, so small batches buy many cheap, noisy steps; to converge with them the learning
        rate has to decrease over time (or the iterates be averaged). Without the $n/k$ factor the step size
        would also shrink with $k$, which mixes up the two effects.
        ### END SOLUTION
        """),
    ]


# ---------------------------------------------------------------- ps5
def ps5():
    return [
        instructions("Problem set 5: learning a location and a scale", "*Location and scale*"),
        md("""
        We learn the parameters of a Normal distribution by minimising the negative log-likelihood with
        `torch.distributions` and `torch.optim.Adam`, and compare them with the closed forms. The scale must
        stay positive while the optimiser moves freely, so we optimise an unconstrained number and map it
        through softplus, $\\mathrm{softplus}(r) = \\log(1 + e^r)$.
        """),
        setup("setup", """
        import torch
        import torch.nn.functional as F

        import mle_helpers as mh

        torch.set_default_dtype(torch.float64)

        x = mh.data.sample_gaussian(500, 2.0, 9.0, seed=3)  # 1-D sample, mean 2, variance 9
        X = mh.data.sample_gaussian(500, [0.0, 0.0], [[1.0, 0.5], [0.5, 2.0]], seed=4)  # (500, 2)
        """),
        md("""
        ## Task 1: a positive scale (2 points)

        Write `positive_scale(raw)`, the softplus of a tensor, and its inverse `raw_for_scale(scale)`
        (so that `positive_scale(raw_for_scale(s))` is `s`). `positive_scale` must stay finite for large
        `raw` (`torch.nn.functional.softplus` does; `log(1 + exp(raw))` overflows at `raw = 800`).
        """),
        answer("positive_scale", """
        def positive_scale(raw):
            \"\"\"softplus(raw) = log(1 + exp(raw)): positive, increasing, finite for large raw.\"\"\"
            ### BEGIN SOLUTION
            return F.softplus(raw)
            ### END SOLUTION

        def raw_for_scale(scale):
            \"\"\"The inverse of positive_scale: log(exp(scale) - 1), for scale > 0.\"\"\"
            ### BEGIN SOLUTION
            scale = torch.as_tensor(scale)
            return torch.log(torch.expm1(scale))
            ### END SOLUTION
        """),
        tests("test_positive_scale_visible", 1, '''
        """Self-check: softplus values, positivity and the inverse."""
        mh.checks.check_positive_transform(positive_scale, raw_for_scale)
        '''),
        tests("test_positive_scale_hidden", 1, '"""Hidden tests: very negative and very large raw values; the gradient is finite."""\n' + hidden(
            [],
            """
            raw = torch.tensor([-30.0, -1.0, 0.0, 3.0, 800.0], requires_grad=True)
            scale = positive_scale(raw)
            scale.sum().backward()
            round_trip = positive_scale(raw_for_scale(torch.tensor([1e-3, 0.7, 25.0])))
            """,
            """
            assert torch.all(scale > 0), "positive_scale must be positive"
            assert torch.isfinite(scale).all() and abs(scale[-1].item() - 800.0) < 1e-9, "positive_scale(800) must be 800"
            assert torch.allclose(scale[:4].detach(), torch.log1p(torch.exp(raw[:4].detach())), rtol=1e-12), "positive_scale is not softplus"
            assert torch.isfinite(raw.grad).all() and torch.all(raw.grad > 0), "the gradient must be finite and positive"
            assert torch.allclose(round_trip, torch.tensor([1e-3, 0.7, 25.0]), rtol=1e-9), "raw_for_scale is not the inverse"
            """)),
        md("""
        ## Task 2: location and scale of 1-D data (5 points)

        Write `fit_loc_scale(x, loc0, scale0, lr, num_steps)`. Make two tensors that require grad, `loc`
        (starting at `loc0`) and `raw_scale` (starting at `raw_for_scale(scale0)`); optimise both with
        `torch.optim.Adam([loc, raw_scale], lr=lr)` for `num_steps` steps, minimising
        `nll = -torch.distributions.Normal(loc, positive_scale(raw_scale)).log_prob(x).sum()`. Return the final
        `(loc, scale)` as floats.
        """),
        answer("fit_loc_scale", """
        def fit_loc_scale(x, loc0, scale0, lr, num_steps):
            \"\"\"Learn the mean and standard deviation of x by minimising the NLL with Adam.\"\"\"
            ### BEGIN SOLUTION
            loc = torch.tensor(float(loc0), requires_grad=True)
            raw_scale = raw_for_scale(float(scale0)).clone().requires_grad_(True)
            optimizer = torch.optim.Adam([loc, raw_scale], lr=lr)
            for _ in range(num_steps):
                optimizer.zero_grad()
                nll = -torch.distributions.Normal(loc, positive_scale(raw_scale)).log_prob(x).sum()
                nll.backward()
                optimizer.step()
            return loc.item(), positive_scale(raw_scale).item()
            ### END SOLUTION

        loc_hat, scale_hat = fit_loc_scale(x, loc0=0.0, scale0=1.0, lr=0.1, num_steps=500)
        print(f"learned: loc = {loc_hat:.4f}, scale = {scale_hat:.4f}")
        """),
        tests("test_fit_loc_scale_visible", 2, '''
        """Self-check: the learned loc and scale match the closed forms (the scale's MLE divides by n)."""
        mh.checks.check_loc_scale(loc_hat, scale_hat, x)
        '''),
        tests("test_fit_loc_scale_hidden", 3, '"""Hidden tests: Adam\'s first step moves loc by lr; a small fresh sample, where divisor n and n - 1 differ by 4%."""\n' + hidden(
            ["estimators.gaussian_mle"],
            """
            g = torch.Generator().manual_seed(55)
            x_new = torch.randn(12, generator=g) * 0.5 + 4.0
            loc_one, scale_one = fit_loc_scale(x_new, 10.0, 2.0, 0.01, 1)
            loc_fit, scale_fit = fit_loc_scale(x_new, 0.0, 1.0, 0.05, 600)
            """,
            """
            # Adam's first update has length lr in every coordinate, in the direction that lowers the NLL
            assert abs(float(loc_one) - (10.0 - 0.01)) < 1e-6, f"one Adam step from loc0 = 10 gives {loc_one}, not 9.99"
            raw0 = torch.log(torch.expm1(torch.tensor(2.0))).requires_grad_(True)
            nll0 = -torch.distributions.Normal(10.0, torch.nn.functional.softplus(raw0)).log_prob(x_new).sum()
            nll0.backward()
            raw1 = raw0.detach() - 0.01 * torch.sign(raw0.grad)
            assert abs(float(scale_one) - torch.nn.functional.softplus(raw1).item()) < 1e-6, \\
                "one Adam step must move raw_scale by lr (scale = softplus(raw_scale))"
            mean_ref = x_new.sum() / 12
            std_ref = (((x_new - mean_ref) ** 2).sum() / 12).sqrt()
            assert abs(float(loc_fit) - mean_ref.item()) < 1e-4, "the learned loc is not the sample mean"
            assert abs(float(scale_fit) / std_ref.item() - 1) < 1e-3, "the learned scale is not the MLE (divisor n)"
            """)),
        md("""
        ## Task 3: a Cholesky factor with a positive diagonal (2 points)

        A covariance $\\Sigma = L L^\\top$ is positive definite when $L$ is lower triangular with a **positive**
        diagonal. Write `cholesky_factor(raw)` for a square tensor `raw`: keep the strictly lower part of `raw`,
        put `positive_scale` of its diagonal on the diagonal, and zeros above. (A plain `torch.tril(raw)` lets
        the optimiser drive a diagonal entry through zero.)
        """),
        answer("cholesky_factor", """
        def cholesky_factor(raw):
            \"\"\"Lower-triangular L with softplus(diag(raw)) on the diagonal and raw's strictly lower part below.\"\"\"
            ### BEGIN SOLUTION
            return torch.tril(raw, diagonal=-1) + torch.diag_embed(positive_scale(torch.diagonal(raw)))
            ### END SOLUTION
        """),
        tests("test_cholesky_factor_visible", 1, '''
        """Self-check: lower triangular, positive diagonal, strictly lower part kept."""
        mh.checks.check_cholesky_factor(cholesky_factor, positive_scale)
        '''),
        tests("test_cholesky_factor_hidden", 1, '"""Hidden tests: a 3 x 3 raw matrix with very negative diagonal entries."""\n' + hidden(
            [],
            """
            raw = torch.tensor([[-20.0, 5.0, 6.0], [1.0, -3.0, 7.0], [2.0, -4.0, 0.5]])
            factor = cholesky_factor(raw)
            """,
            """
            assert torch.equal(torch.triu(factor, diagonal=1), torch.zeros(3, 3)), "entries above the diagonal must be 0"
            assert torch.equal(torch.tril(factor, diagonal=-1), torch.tril(raw, diagonal=-1)), "the strictly lower part must be raw's"
            assert torch.allclose(torch.diagonal(factor), torch.log1p(torch.exp(torch.diagonal(raw))), rtol=1e-12)
            assert torch.linalg.eigvalsh(factor @ factor.T).min() > 0, "L L^T must be positive definite"
            """)),
        md("""
        ## Task 4: location and full covariance (5 points)

        Write `fit_mvn(X, loc0, lr, num_steps)`. Learn `loc` (starting at `loc0`) and a raw matrix `raw` with
        `cholesky_factor(raw)` equal to the identity at the start, with `torch.optim.Adam([loc, raw], lr=lr)`,
        minimising `-MultivariateNormal(loc, scale_tril=cholesky_factor(raw)).log_prob(X).sum()`. Return the
        final `(loc, cov)` as tensors, `cov = L L^T`. Tip: pass `validate_args=False` to `MultivariateNormal`;
        your parametrisation already guarantees a valid factor, and checking it at every step costs more than
        the log-density itself.
        """),
        answer("fit_mvn", """
        def fit_mvn(X, loc0, lr, num_steps):
            \"\"\"Learn a mean vector and a full covariance (through its Cholesky factor) by minimising the NLL.\"\"\"
            ### BEGIN SOLUTION
            d = X.shape[1]
            loc = torch.as_tensor(loc0, dtype=torch.float64).clone().requires_grad_(True)
            raw = (raw_for_scale(1.0) * torch.eye(d)).requires_grad_(True)
            optimizer = torch.optim.Adam([loc, raw], lr=lr)
            for _ in range(num_steps):
                optimizer.zero_grad()
                model = torch.distributions.MultivariateNormal(loc, scale_tril=cholesky_factor(raw), validate_args=False)
                nll = -model.log_prob(X).sum()
                nll.backward()
                optimizer.step()
            factor = cholesky_factor(raw).detach()
            return loc.detach(), factor @ factor.T
            ### END SOLUTION

        loc_mvn, cov_mvn = fit_mvn(X, loc0=[-2.0, 2.0], lr=0.1, num_steps=400)
        print("learned loc:", loc_mvn.numpy().round(4))
        print("learned cov:", cov_mvn.numpy().round(4))
        """),
        tests("test_fit_mvn_visible", 2, '''
        """Self-check: the learned mean and covariance match the closed forms (divisor n)."""
        mh.checks.check_mvn_fit(loc_mvn, cov_mvn, X)
        '''),
        tests("test_fit_mvn_hidden", 3, '"""Hidden tests: Adam\'s first step moves loc by lr per coordinate; a small fresh sample matches the closed forms."""\n' + hidden(
            ["estimators.gaussian_mle"],
            """
            g = torch.Generator().manual_seed(77)
            X_new = torch.randn(15, 2, generator=g) @ torch.tensor([[1.0, 0.0], [-0.7, 0.4]]).T + torch.tensor([1.0, -1.0])
            loc_one, _ = fit_mvn(X_new, [3.0, -3.0], 0.02, 1)
            loc_fit, cov_fit = fit_mvn(X_new, [0.0, 0.0], 0.05, 600)
            """,
            """
            loc_one = torch.as_tensor(loc_one).detach()
            assert torch.allclose(loc_one, torch.tensor([3.0 - 0.02, -3.0 + 0.02]), atol=1e-6), f"one Adam step gives {loc_one}"
            mean_ref = X_new.sum(0) / 15
            cov_ref = (X_new - mean_ref).T @ (X_new - mean_ref) / 15
            cov_fit = torch.as_tensor(cov_fit).detach()
            assert torch.allclose(torch.as_tensor(loc_fit).detach(), mean_ref, atol=1e-3), "the learned loc is not the sample mean"
            assert torch.allclose(cov_fit, cov_fit.T), "cov must be symmetric"
            assert torch.allclose(cov_fit, cov_ref, rtol=1e-2, atol=1e-3), f"the learned cov {cov_fit} is not the MLE (divisor n) {cov_ref}"
            """)),
        written("parametrisation", 3, """
        ## Task 5: why these parametrisations (3 points, written)

        (a) Why optimise `raw_scale` and a raw Cholesky matrix instead of the scale and the covariance
        themselves? (b) Your learned scale matches the MLE with divisor $n$; `x.std()` divides by $n - 1$.
        When does the difference matter?

        ### BEGIN SOLUTION
        (a) The optimiser moves parameters anywhere on the real line. A scale or a covariance updated
        directly can become zero, negative or indefinite after one large step, and the log-density is then
        undefined (`Normal` and `MultivariateNormal` raise). Softplus maps every real number to a positive
        scale, and $L L^\\top$ with a positive diagonal in $L$ is always positive definite, so every point the
        optimiser visits is a valid model. The diagonal needs the softplus too: with a raw triangular matrix
        a diagonal entry can cross 0, where $L L^\\top$ is singular and the Cholesky parametrisation breaks.

        (b) The ratio of the two standard deviations is $\\sqrt{n/(n-1)}$: 1.00005 for $n = 10\\,000$, invisible,
        but 4% for $n = 12$. The MLE (divisor $n$) is biased low for the variance; $n - 1$ gives the unbiased
        variance. For small samples they are different estimates, and comparing a learned MLE with `std()`
        would wrongly suggest the optimiser had not converged.
        ### END SOLUTION
        """),
    ]


ASSIGNMENTS = {
    "ps1_closed_form": ps1,
    "ps2_gradient_ascent": ps2,
    "ps3_optimizers": ps3,
    "ps4_stochastic": ps4,
    "ps5_location_scale": ps5,
}


def main(names):
    for name in names or ASSIGNMENTS:
        print(write(name, ASSIGNMENTS[name]()).relative_to(HERE.parent))


if __name__ == "__main__":
    main(sys.argv[1:])
