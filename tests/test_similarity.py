"""Similarity of answers (instructor_grading.similarity, ``python -m instructor_grading similarity``).

Unit tests on hand-written cells: the disguises a copier uses change no token,
a different algorithm shares little. A scratch course of ps6_poisson (its
release only: nothing is graded) holds small hand-written classes: the
copied pair ranks first above THRESHOLD, honest pairs stay below it, the
stub and an idiom used by many do not count. The shared graded `classroom`
(tests/classroom.py) checks the same on a class built by someone else.
"""
from __future__ import annotations

import shutil
from itertools import combinations
from pathlib import Path

import nbformat
import pytest
from nbgrader import utils

from instructor_grading import scratch
from instructor_grading.__main__ import main
from instructor_grading.similarity import K_CODE, THRESHOLD, code_tokens, fingerprints, similar_pairs, words

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "ps6_poisson"
STUB = "    # YOUR CODE HERE\n    raise NotImplementedError()"

# ------------------------------------------------------------------ answers: several honest ways per task

LOGLIK = {  # the body of poisson_loglik(X, y, beta)
    "eta": "    eta = X @ beta\n    return (y * eta - torch.exp(eta) - torch.lgamma(y + 1)).sum()",
    "mu": "    mu = torch.exp(X @ beta)\n    return torch.sum(y * torch.log(mu) - mu - torch.lgamma(y + 1))",
    "matmul": ("    linear = X.matmul(beta)\n"
               "    return (y * linear).sum() - linear.exp().sum() - (y + 1).lgamma().sum()"),
}
ASCENT = {  # the body of fit_gradient_ascent(X, y, beta0, lr, num_steps)
    "grad": """\
    beta = beta0.detach().clone().requires_grad_(True)
    path = [beta.detach().clone()]
    for _ in range(num_steps):
        g, = torch.autograd.grad(poisson_loglik(X, y, beta), beta)
        with torch.no_grad():
            beta += lr * g
        path.append(beta.detach().clone())
    return torch.stack(path)""",
    "backward": """\
    beta = beta0.clone().detach().requires_grad_(True)
    path = torch.empty(num_steps + 1, beta0.shape[0])
    path[0] = beta0
    for t in range(num_steps):
        ll = poisson_loglik(X, y, beta)
        ll.backward()
        with torch.no_grad():
            beta += lr * beta.grad
            beta.grad.zero_()
        path[t + 1] = beta.detach()
    return path""",
    "functional": """\
    betas = [beta0.clone()]
    for step in range(num_steps):
        current = betas[-1].clone().requires_grad_()
        gradient = torch.autograd.grad(poisson_loglik(X, y, current), current)[0]
        betas.append((current + lr * gradient).detach())
    return torch.stack(betas)""",
}
NEWTON = {  # the body of fit_newton(X, y, beta0, num_steps)
    "information": """\
    beta = beta0.detach().clone()
    path = [beta.clone()]
    for _ in range(num_steps):
        mu = torch.exp(X @ beta)
        score = X.T @ (y - mu)
        information = X.T @ (mu[:, None] * X)
        beta = beta + torch.linalg.solve(information, score)
        path.append(beta.clone())
    return torch.stack(path)""",
    "hessian": """\
    f = lambda b: poisson_loglik(X, y, b)
    beta = beta0.clone()
    path = [beta]
    for _ in range(num_steps):
        g = torch.autograd.functional.jacobian(f, beta)
        H = torch.autograd.functional.hessian(f, beta)
        beta = beta - torch.linalg.solve(H, g)
        path.append(beta)
    return torch.stack(path)""",
    "diag": """\
    steps = [beta0]
    for k in range(num_steps):
        b = steps[-1]
        mu = (X @ b).exp()
        W = torch.diag(mu)
        hess = -X.T @ W @ X
        grad = X.T @ (y - mu)
        steps.append(b - torch.linalg.solve(hess, grad))
    return torch.stack(steps)""",
}
ERRORS = {  # the body of standard_errors(X, y, beta_hat)
    "inverse": """\
    mu = torch.exp(X @ beta_hat)
    covariance = torch.linalg.inv(X.T @ (mu[:, None] * X))
    return torch.sqrt(torch.diagonal(covariance))""",
    "hessian": """\
    H = torch.autograd.functional.hessian(lambda b: poisson_loglik(X, y, b), beta_hat)
    return torch.sqrt(torch.diag(torch.linalg.inv(-H)))""",
    "diag": """\
    info = X.T @ torch.diag(torch.exp(X @ beta_hat)) @ X
    return torch.linalg.inv(info).diagonal().sqrt()""",
}
WRITTEN = {  # the written answer of Task 5: each student's own
    "hon1": ("(a) The log-likelihood is concave and almost quadratic near its maximum, so each Newton step "
             "squares the error; gradient ascent has one learning rate for every direction. Fisher scoring "
             "uses the expected information, and with the canonical log link the Hessian does not depend on "
             "the counts. (b) The coefficient goes to minus infinity and the log-likelihood keeps rising "
             "towards a supremum: no MLE. A Gaussian prior (L2 penalty) fixes it."),
    "hon2": ("Newton uses the curvature: it fits a parabola to $\\ell$ at every step and jumps to its top, "
             "which is exact for a quadratic and nearly so here, so convergence is quadratic. $H = -X^T W X$ "
             "has no $y$ in it, so $E[H] = H$ and scoring is Newton. The new_model coefficient decreases by "
             "about one per step forever because all its counts are zero. I would drop the covariate."),
    "hon3": ("Concavity makes the function close to a quadratic bowl near the top, and Newton is exact on "
             "quadratics. Observed and expected information coincide for Poisson with log link. In (b) the "
             "estimate diverges since the zero counts push the rate to 0, only reached at beta = -inf. Use "
             "a prior / ridge penalty so that the MAP exists."),
    "hon4": ("a) Second-order method: the Hessian rescales each direction, and near the optimum of a smooth "
             "concave function the error shrinks quadratically. Fisher scoring = Newton since the Hessian "
             "is not random for a canonical link. b) beta_4 drifts down without limit, the likelihood "
             "approaches its upper bound; separation-like data. Regularise."),
    "hon5": ("Gradient ascent's step is limited by the largest curvature, Newton's is not. The information "
             "matrix here depends only on X and beta, so expected and observed agree. The zero counts make "
             "the last coefficient run away; with a penalty on beta there is an optimum again."),
    "hon6": ("(a) quadratic convergence of Newton on a strongly concave, nearly quadratic objective; for the "
             "log link the Hessian has no y so Fisher scoring is identical. (b) the coefficient of the new "
             "model diverges to -infinity, the log-likelihood increases monotonically but stays bounded by "
             "its supremum. Put a normal prior on beta (MAP)."),
    "hon7": ("Newton's step solves the local quadratic approximation exactly, and the log-likelihood is very "
             "nearly quadratic, so few steps suffice. E[-H] = -H because y does not appear in H. In the demo "
             "the new_model weight keeps falling; the likelihood has no maximiser. Merge the group with "
             "another one or add an L2 term."),
}

# The original: distinctive code in every task and a written answer of its own.
ORIGINAL = {
    "poisson_loglik": """\
def poisson_loglik(X, y, beta):
    \"\"\"sum_i [y_i x_i^T beta - exp(x_i^T beta) - log(y_i!)], a 0-dim tensor differentiable in beta.\"\"\"
    # The Poisson distribution of torch gives the exact log pmf, log y! included.
    rates = torch.exp(torch.einsum("ij,j->i", X, beta))
    model = torch.distributions.Poisson(rate=rates, validate_args=False)
    return model.log_prob(y).sum(dim=0)
""",
    "fit_gradient_ascent": """\
def fit_gradient_ascent(X, y, beta0, lr, num_steps):
    \"\"\"Gradient ascent on the Poisson log-likelihood from beta0; returns the (num_steps + 1, p) path.\"\"\"
    history = torch.zeros((num_steps + 1, len(beta0)), dtype=beta0.dtype)
    history[0] = beta0
    current = beta0.detach().clone()
    step = 0
    while step < num_steps:
        current.requires_grad_(True)
        objective = poisson_loglik(X, y, current)
        (slope,) = torch.autograd.grad(objective, [current], create_graph=False)
        current = (current + lr * slope).detach()  # move uphill
        step += 1
        history[step] = current
    return history

path_ascent = fit_gradient_ascent(X, y, beta0, lr=1e-3, num_steps=300)
print("gradient ascent, after 300 steps:", path_ascent[-1].numpy().round(6))
""",
    "fit_newton": """\
def fit_newton(X, y, beta0, num_steps):
    \"\"\"Newton's method on the Poisson log-likelihood from beta0; returns the (num_steps + 1, p) path.\"\"\"
    trail = torch.empty((num_steps + 1, X.shape[1]), dtype=X.dtype)
    trail[0] = beta0
    for i in range(1, num_steps + 1):
        previous = trail[i - 1]
        fitted = torch.exp(torch.einsum("ij,j->i", X, previous))
        residual = y - fitted
        weighted = X * fitted.unsqueeze(1)
        fisher = torch.einsum("ij,ik->jk", X, weighted)
        trail[i] = previous + torch.linalg.solve(fisher, X.T.mv(residual))
    return trail

path_newton = fit_newton(X, y, beta0, num_steps=8)
beta_hat = path_newton[-1]
print("beta_hat:", beta_hat.numpy().round(6))
""",
    "standard_errors": """\
def standard_errors(X, y, beta_hat):
    \"\"\"sqrt(diag(I(beta_hat)^-1)), I = -H the observed information of the Poisson log-likelihood.\"\"\"
    fitted = torch.exp(torch.einsum("ij,j->i", X, beta_hat))
    fisher = torch.einsum("ij,ik->jk", X, X * fitted.unsqueeze(1))
    cholesky = torch.linalg.cholesky(fisher)
    return torch.cholesky_inverse(cholesky).diagonal().clamp(min=0).sqrt()

se = standard_errors(X, y, beta_hat)
for name, estimate, error in zip(["intercept", "age", "serviced"], beta_hat, se):
    print(f"{name:>9}: {estimate:7.4f} +- {1.96 * error:.4f} (95% Wald interval)")
""",
    "newton_and_existence": (
        "(a) Newton is fast because l(beta) is strictly concave with a Hessian -X'diag(mu)X that changes "
        "slowly, so the local quadratic model is excellent and the number of correct digits doubles per "
        "iteration. For the canonical link the observed information equals the expected one, hence Newton "
        "equals Fisher scoring. (b) The new_model coefficient walks off by roughly -1 each iteration and "
        "the likelihood creeps up without a maximum: the fitted rate of that group wants to be exactly 0. "
        "Adding a ridge penalty (a normal prior) gives a finite MAP estimate."),
}

# The copier: ORIGINAL with every variable renamed, new comments, reformatted, keyword arguments reordered.
COPIED = {
    "poisson_loglik": """\
def poisson_loglik(X, y, beta):
    \"\"\"sum_i [y_i x_i^T beta - exp(x_i^T beta) - log(y_i!)], a 0-dim tensor differentiable in beta.\"\"\"
    lam = torch.exp( torch.einsum('ij,j->i', X, beta) )   # rate per machine
    dist = torch.distributions.Poisson(validate_args = False, rate = lam)
    return dist.log_prob(y).sum(dim = 0)
""",
    "fit_gradient_ascent": """\
def fit_gradient_ascent(X, y, beta0, lr, num_steps):
    \"\"\"Gradient ascent on the Poisson log-likelihood from beta0; returns the (num_steps + 1, p) path.\"\"\"
    # store every iterate
    out = torch.zeros((num_steps+1, len(beta0)), dtype = beta0.dtype)
    out[0] = beta0
    b = beta0.detach().clone()
    it = 0
    while it < num_steps:
        b.requires_grad_(True)
        ll = poisson_loglik(X, y, b)
        (grad,) = torch.autograd.grad(ll, [b], create_graph = False)
        b = (b + lr*grad).detach()
        it += 1
        out[it] = b
    return out

path_ascent = fit_gradient_ascent(X, y, beta0, lr=1e-3, num_steps=300)
print("gradient ascent, after 300 steps:", path_ascent[-1].numpy().round(6))
""",
    "fit_newton": """\
def fit_newton(X, y, beta0, num_steps):
    \"\"\"Newton's method on the Poisson log-likelihood from beta0; returns the (num_steps + 1, p) path.\"\"\"
    res = torch.empty((num_steps + 1, X.shape[1]), dtype=X.dtype)
    res[0] = beta0
    for j in range(1, num_steps + 1):
        prev = res[j-1]
        m = torch.exp(torch.einsum("ij,j->i", X, prev))
        r = y - m
        wx = X * m.unsqueeze(1)
        info = torch.einsum("ij,ik->jk", X, wx)  # X^T W X
        res[j] = prev + torch.linalg.solve(info, X.T.mv(r))
    return res

path_newton = fit_newton(X, y, beta0, num_steps=8)
beta_hat = path_newton[-1]
print("beta_hat:", beta_hat.numpy().round(6))
""",
    "standard_errors": """\
def standard_errors(X, y, beta_hat):
    \"\"\"sqrt(diag(I(beta_hat)^-1)), I = -H the observed information of the Poisson log-likelihood.\"\"\"
    m = torch.exp(torch.einsum("ij,j->i", X, beta_hat))
    F = torch.einsum("ij,ik->jk", X, X * m.unsqueeze(1))
    L = torch.linalg.cholesky(F)
    return torch.cholesky_inverse(L).diagonal().clamp(min = 0).sqrt()

se = standard_errors(X, y, beta_hat)
for name, estimate, error in zip(["intercept", "age", "serviced"], beta_hat, se):
    print(f"{name:>9}: {estimate:7.4f} +- {1.96 * error:.4f} (95% Wald interval)")
""",
    "newton_and_existence": (
        "(a) newton is fast because $l(\\beta)$ is strictly concave with a hessian $-X'diag(\\mu)X$ that changes "
        "slowly. So the local quadratic model is excellent, and the number of correct digits doubles per "
        "iteration! For the canonical link the observed information equals the expected one; hence Newton "
        "equals Fisher scoring.\n\n(b) The `new_model` coefficient walks off by roughly -1 each iteration and "
        "the likelihood creeps up without a maximum (the fitted rate of that group wants to be exactly 0). "
        "Adding a ridge penalty (a normal prior) gives a finite MAP estimate."),
}

# Honest students: (loglik, ascent, newton, errors). Any two of them share the same way of answering
# in at most one task whose way fewer than four of them chose.
HONEST = {
    "hon1": ("eta", "grad", "information", "inverse"),
    "hon2": ("eta", "backward", "hessian", "diag"),
    "hon3": ("eta", "functional", "diag", "hessian"),
    "hon4": ("eta", "grad", "hessian", "hessian"),
    "hon5": ("mu", "backward", "information", "hessian"),
    "hon6": ("matmul", "functional", "information", "diag"),
    "hon7": ("mu", "grad", "diag", "diag"),
}


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    """A scratch course of ps6_poisson: its nbgrader_config.py and release/ (nothing is graded)."""
    return scratch.scratch_course(tmp_path_factory.mktemp("similarity") / "course", [ASSIGNMENT],
                                  solutions=ROOT / "solutions")


def stub_cells(course: Path) -> dict[str, str]:
    nb = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    return {c.metadata.nbgrader["grade_id"]: c.source for c in nb.cells if utils.is_solution(c)}


def honest_answers(course: Path, ways: tuple[str, ...], written: str) -> dict[str, str]:
    """The answers of a student who wrote these ways and this written answer into the release's stubs."""
    stubs = stub_cells(course)
    bodies = dict(zip(["poisson_loglik", "fit_gradient_ascent", "fit_newton", "standard_errors"],
                      [LOGLIK[ways[0]], ASCENT[ways[1]], NEWTON[ways[2]], ERRORS[ways[3]]]))
    answers = {gid: stubs[gid].replace(STUB, body) for gid, body in bodies.items()}
    answers["newton_and_existence"] = stubs["newton_and_existence"].replace("YOUR ANSWER HERE", written)
    return answers


def new_class(release: Path, folder: Path, students: dict[str, dict[str, str]]) -> Path:
    """A course in ``folder`` with the release of ``release`` and each student's answers submitted."""
    course = folder / "course"
    (course / "release").mkdir(parents=True)
    shutil.copy(release / "nbgrader_config.py", course)
    shutil.copytree(release / "release" / ASSIGNMENT, course / "release" / ASSIGNMENT)
    for student, answers in students.items():
        nb = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
        for cell in nb.cells:
            if utils.is_solution(cell) and cell.metadata.nbgrader["grade_id"] in answers:
                cell.source = answers[cell.metadata.nbgrader["grade_id"]]
        target = course / "submitted" / student / ASSIGNMENT
        target.mkdir(parents=True)
        nbformat.write(nb, target / f"{ASSIGNMENT}.ipynb")
    return course


@pytest.fixture(scope="module")
def small_class(release, tmp_path_factory) -> Path:
    """Seven honest students, an original and its copier."""
    students = {name: honest_answers(release, ways, WRITTEN[name]) for name, ways in HONEST.items()}
    students.update(original=ORIGINAL, copier=COPIED)
    return new_class(release, tmp_path_factory.mktemp("small_class"), students)


# ------------------------------------------------------------------ normalised tokens


def test_renamed_recommented_reformatted_code_gives_the_same_tokens():
    stub = "def f(x, y):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\nz = f(1, 2)\n"
    answer = '''\
def f(x, y):
    """Documented."""
    total = 0.0  # running sum
    for value, weight in zip(x, y):
        total += torch.exp(value) * weight
    scaled = [t / 2 for t in (total, total)]
    return torch.tensor(scaled).sum(dim=0, keepdim=True)

z = f(1, 2)
'''
    disguised = '''\
def f(x,y):
    s=0.0
    # loop over pairs of entries
    for a,b in zip(x,y):
        s+=torch.exp(a)*(b)
    half=[q/2 for q in (s,s)]
    \'\'\'now add them up\'\'\'
    return torch.tensor(half).sum(keepdim = True, dim = 0)    # done
z=f(1,2)
'''
    tokens = code_tokens(answer, stub)
    assert tokens == code_tokens(disguised, stub)
    assert {"torch", "exp", "zip", "sum", "dim", "keepdim"} <= set(tokens)  # names it does not bind stay
    assert not {"total", "value", "weight", "scaled", "t", "x", "y", "f"} & set(tokens)


def test_the_stub_names_are_numbered_first_so_the_stub_lines_read_the_same():
    stub = "def f(x):\n    raise NotImplementedError()\n\nresult = f(3)\nprint(result)\n"
    short = "def f(x):\n    return x\n\nresult = f(3)\nprint(result)\n"
    longer = "def f(x):\n    a = x + 1\n    b = a * 2\n    return b\n\nresult = f(3)\nprint(result)\n"
    stub_tokens = code_tokens(stub, stub)
    tail = stub_tokens[stub_tokens.index("<dedent>"):]  # result = f(3); print(result)
    assert len(tail) > K_CODE
    for answer in (short, longer):
        tokens = code_tokens(answer, stub)
        assert tokens[-len(tail):] == tail


def test_code_that_does_not_parse_is_compared_by_its_tokens_with_names_renamed():
    broken = "def g(data):\n    out = data.mean(  # unfinished\n    return out\n"
    renamed = "def g(data):\n    m = data.mean(\n    return m\n"
    tokens = code_tokens(broken)
    assert tokens == code_tokens(renamed)
    assert "mean" in tokens and "out" not in tokens and "unfinished" not in " ".join(tokens)


def test_written_answers_compare_their_words():
    expected = ["the", "mle", "hat", "beta", "is", "unbiased", "see", "b"]
    assert words("The MLE $\\hat\\beta$ is *unbiased*; see (b).") == expected
    assert words("the mle \\(\\hat{\\beta}\\) IS unbiased - see b") == expected


def test_different_algorithms_share_few_fingerprints():
    stubs = "def fit_newton(X, y, beta0, num_steps):\n" + STUB
    prints = {way: fingerprints(code_tokens(stubs.replace(STUB, body), stubs), K_CODE) - fingerprints(
        code_tokens(stubs, stubs), K_CODE) for way, body in NEWTON.items()}
    for a, b in combinations(prints, 2):
        assert len(prints[a] & prints[b]) < THRESHOLD / 2 * min(len(prints[a]), len(prints[b])), (a, b)


# ------------------------------------------------------------------ a class


def test_the_copied_pair_ranks_first_above_the_threshold_and_honest_pairs_below(small_class):
    pairs = similar_pairs(small_class, ASSIGNMENT, threshold=0.0)
    assert pairs[0].students == ("copier", "original") and pairs[0].score > THRESHOLD, pairs[:3]
    assert [p.students for p in similar_pairs(small_class, ASSIGNMENT)] == [("copier", "original")]
    honest = [p for p in pairs if "original" not in p.students]
    assert max(p.score for p in honest) < THRESHOLD, [(p.students, round(p.score, 2)) for p in honest]
    # the report shows every answer of the copied pair side by side, in the notebook's order
    assert [c[0] for c in pairs[0].cells] == list(ORIGINAL)
    assert pairs[0].cells[0][1] == COPIED["poisson_loglik"] and pairs[0].cells[0][2] == ORIGINAL["poisson_loglik"]


OTHER_WAYS = ("matmul", "functional", "hessian", "diag")  # no way in common with hon1


def test_the_release_stub_does_not_count_even_when_every_student_keeps_it(release, tmp_path):
    course = new_class(release, tmp_path, {"hon1": honest_answers(release, HONEST["hon1"], WRITTEN["hon1"]),
                                           "other": honest_answers(release, OTHER_WAYS, WRITTEN["hon2"])})
    # max_share 2: nothing is an idiom here, so only the stub rule keeps the kept stub lines out
    pairs = similar_pairs(course, ASSIGNMENT, threshold=0.0, max_share=2)
    assert not pairs or pairs[0].score < 0.1, [(p.students, p.score, [c[0] for c in p.cells]) for p in pairs]


def test_students_who_left_the_stubs_or_wrote_too_little_are_not_scored(release, tmp_path):
    one_answer = {"poisson_loglik": honest_answers(release, HONEST["hon1"], "")["poisson_loglik"]}
    course = new_class(release, tmp_path, {"stub1": {}, "stub2": {}, "stub3": {},
                                           "short1": one_answer, "short2": one_answer,
                                           "original": ORIGINAL})
    assert similar_pairs(course, ASSIGNMENT, threshold=0.0) == []


def test_an_idiom_used_by_many_students_does_not_count(release, tmp_path):
    """Five students write the chapter's gradient ascent loop word for word; their other answers are their own."""
    ways = [("eta", "grad", "information", "inverse"), ("mu", "grad", "hessian", "hessian"),
            ("matmul", "grad", "diag", "diag"), ("eta", "grad", "hessian", "diag"), ("mu", "grad", "diag", "inverse")]
    students = {f"s{i}": honest_answers(release, w, WRITTEN[f"hon{i + 1}"]) for i, w in enumerate(ways)}
    course = new_class(release, tmp_path, students)
    by_default = similar_pairs(course, ASSIGNMENT, threshold=0.0)  # max_share = 3 for a class of 5
    assert all("fit_gradient_ascent" not in [c[0] for c in p.cells] for p in by_default)
    counted = similar_pairs(course, ASSIGNMENT, threshold=0.0, max_share=5)  # the same loop, counted
    assert len(counted) == 10 and all("fit_gradient_ascent" in [c[0] for c in p.cells] for p in counted)
    default_scores = {p.students: p.score for p in by_default}
    assert all(p.score > default_scores.get(p.students, 0.0) for p in counted)


def test_an_unreadable_notebook_is_skipped_and_the_class_compared(release, tmp_path):
    students = {name: honest_answers(release, HONEST[name], WRITTEN[name]) for name in ("hon1", "hon2")}
    course = new_class(release, tmp_path, {**students, "original": ORIGINAL, "copier": COPIED, "broken": {}})
    (course / "submitted" / "broken" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text('{"cells": [')
    assert [p.students for p in similar_pairs(course, ASSIGNMENT)] == [("copier", "original")]


@pytest.mark.parametrize("arguments, named", [({"threshold": 1.5}, "threshold"), ({"max_share": 1}, "max_share"),
                                              ({"assignment": "ps9_missing"}, "ps9_missing")])
def test_bad_arguments_are_named(small_class, arguments, named):
    arguments = {"assignment": ASSIGNMENT, **arguments}
    with pytest.raises(ValueError, match=named) as error:
        similar_pairs(small_class, arguments.pop("assignment"), **arguments)
    if named == "ps9_missing":
        assert ASSIGNMENT in str(error.value)  # the released assignments are listed


def test_the_command_line_prints_the_ranked_pairs(small_class, capsys):
    """``python -m instructor_grading similarity`` (its main, in this process)."""
    assert main(["similarity", "--course", str(small_class)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{ASSIGNMENT}: 1 pair")
    assert lines[1].split()[1:3] == ["copier", "original"] and float(lines[1].split()[0]) > THRESHOLD
    assert "fit_newton" in lines[1]
    assert main(["similarity", "--course", str(small_class), "--assignment", "nope"]) == 1
    assert "'nope'" in capsys.readouterr().err


# ------------------------------------------------------------------ the shared graded class


def test_in_the_classroom_the_copied_pair_ranks_first_and_no_honest_pair_reaches_the_threshold(classroom):
    """Every assignment: the copier and the original first, above THRESHOLD; all others below, stubs not scored."""
    for assignment in classroom.assignments:
        pairs = similar_pairs(classroom.course, assignment, threshold=0.0)
        ranked = [(p.students, round(p.score, 3)) for p in pairs[:4]]
        assert set(pairs[0].students) == set(classroom.copied_pair) and pairs[0].score > THRESHOLD, (assignment, ranked)
        assert all(p.score < THRESHOLD for p in pairs[1:]), (assignment, ranked)
        blank = [s for s, planned in classroom.students.items() if planned.role == "blank"]
        assert blank and not any(set(blank) & set(p.students) for p in pairs)
        assert [p.students for p in similar_pairs(classroom.course, assignment)] == [pairs[0].students]
