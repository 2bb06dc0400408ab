# Entry points of the course. The first two are all a newcomer needs:
#   make book    build the website into _build/html
#   make test    run every test (helpers, chapters, grading, site)
# Every target sets up .venv on first use and reinstalls only when a
# requirements file or pyproject.toml changes.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JOBS ?= 1
# The venv's tools first on PATH: nbgrader runs `alembic` from it, and every recipe and test inherits it.
export PATH := $(CURDIR)/$(BIN):$(PATH)
# One thread: the tensors here are small, and parallel grading workers must not oversubscribe the cores.
export OMP_NUM_THREADS ?= 1

.PHONY: help install axe book pdf poppler test test-fast assignments roster autograde feedback grades report collect lab bench chromium sandbox hub-deps hub hub-stop gradebook-backup clean

help:
	@echo "make book | pdf | test | assignments | roster [FILE=roster.csv] | autograde [JOBS=n] [SHARD=i/N] [STUDENT=id] [ASSIGNMENT=id]"
	@echo "make feedback [STUDENT=id] [ASSIGNMENT=id] | grades [ROSTER=roster.csv] | report | lab | bench | clean"
	@echo "make collect ASSIGNMENT=<id> ARCHIVE=<file.zip> LMS=canvas|moodle [ROSTER=hub/roster.csv] [ON_TIME=1]"
	@echo "make hub | hub-stop | gradebook-backup   (the course on JupyterHub on this machine; needs root)"

$(STAMP): requirements.txt requirements-test.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-test.txt
	@touch $@

install: $(STAMP)

# Debian's chromium for the browser tests (a fresh machine has none).
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# poppler-utils: pdfinfo numbers the PDF's contents (make pdf); its test reads the PDF with pdftotext and pdfimages.
poppler:
	@command -v pdfinfo >/dev/null && command -v pdftotext >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null; }

# bubblewrap and prlimit: autograding runs every student's kernel in a sandbox (instructor_grading/sandbox.py).
sandbox:
	@command -v bwrap >/dev/null && command -v prlimit >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap util-linux >/dev/null; }

# PostgreSQL and npm for the course hub (and ss, pgrep, for its tests). Debian's package would also make
# and start a default cluster; the hub makes its own, so that one is switched off before the install.
hub-deps:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v npm ss pgrep >/dev/null || { \
	  mkdir -p /etc/postgresql-common && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql nodejs npm iproute2 procps >/dev/null; }

# axe-core from npm for the accessibility audits of the browser tests (tests/axe.py).
AXE := .node/node_modules/axe-core/axe.min.js
$(AXE):
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	npm install --prefix .node --no-audit --no-fund --silent axe-core@4

axe: $(AXE)

book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going

# The whole book as one PDF, _build/html/mle-pytorch.pdf (linked from the introduction): book_pdf/ prints
# the single-page build with Debian's chromium, reusing what `make book` executed.
pdf: book chromium poppler
	$(BIN)/python -m book_pdf

test: $(STAMP) chromium sandbox hub-deps poppler $(AXE)
	$(BIN)/python -m pytest

test-fast: $(STAMP) sandbox
	$(BIN)/python -m pytest -m "not slow"

# solutions/<id>.md -> solutions/<id>/<id>.ipynb (nbgrader's source) -> exercises/<id>/ and gradebook.db,
# with the due dates of course_schedule.toml
assignments: $(STAMP)
	$(BIN)/python -m instructor_grading.sources solutions
	@# ERROR: nbgrader's warning that it replaces the previous release is what this target is for
	@for dir in solutions/*/; do \
	  $(BIN)/nbgrader generate_assignment "$$(basename $$dir)" --force --log-level=ERROR || exit 1; \
	  echo "released exercises/$$(basename $$dir)/"; \
	done
	$(BIN)/python -m instructor_grading due-dates

# The class roster (id,first_name,last_name,email[,lms_user_id,sis_user_id,sis_login_id,section]) into the gradebook
roster: FILE ?= hub/roster.csv
roster: $(STAMP)
	$(BIN)/python -m instructor_grading roster $(FILE)

# An LMS's "download all submissions" zip -> submitted/<student>/<assignment>/ (nbgrader zip_collect with
# the course's plugins, instructor_grading/collect.py). ON_TIME=1: every file was handed in by the due date.
collect: $(STAMP)
	$(BIN)/python -m instructor_grading collect "$(ASSIGNMENT)" --archive "$(ARCHIVE)" --lms "$(LMS)"$(if $(ROSTER), --roster "$(ROSTER)")$(if $(ON_TIME), --on-time)

# STUDENT=id and ASSIGNMENT=id narrow autograde and feedback to one student, one assignment or both.
SELECTION = $(if $(STUDENT), --student $(STUDENT))$(if $(ASSIGNMENT), --assignment $(ASSIGNMENT))

# JOBS=n workers; SHARD=i/N grades every N-th student only (N machines, one PostgreSQL gradebook)
autograde: $(STAMP) sandbox
	$(BIN)/python -m instructor_grading autograde --jobs $(JOBS)$(if $(SHARD), --shard $(SHARD))$(SELECTION)

feedback: $(STAMP)
	$(BIN)/python -m instructor_grading feedback$(SELECTION)

# grades.csv (nbgrader's columns), grades_canvas.csv and grades_moodle.csv, the late penalty on the whole score
grades: ROSTER ?= hub/roster.csv
grades: $(STAMP)
	$(BIN)/nbgrader export --to grades.csv --CourseGradesExport.roster=$(ROSTER) --log-level=WARN
	@echo "wrote grades.csv, grades_canvas.csv and grades_moodle.csv"

# reports/index.html and reports/<assignment>.html: where the class struggled (scores, cells, failed checks, problems)
report: $(STAMP)
	$(BIN)/python -m instructor_grading report

lab: $(STAMP)
	cd exercises && ../$(BIN)/jupyter lab

bench: $(STAMP) sandbox
	$(BIN)/python -m bench

# The course on JupyterHub at http://127.0.0.1:$${HUB_PORT:-8000}/ (see book/instructor_hub.md). Settings:
# HUB_ROOT (/srv/mle-hub), HUB_PORT, HUB_PG_PORT (5433), HUB_PASSWORD, HUB_ROSTER (hub/roster.csv),
# HUB_INSTRUCTOR (instructor), HUB_RELEASE (all, or assignment ids separated by commas).
hub: $(STAMP) sandbox hub-deps
	$(BIN)/python -m hub.deploy start

hub-stop: $(STAMP)
	$(BIN)/python -m hub.deploy stop

# A pg_dump of the hub's gradebook into backups/ (or FILE=...); restore it with pg_restore.
gradebook-backup: $(STAMP)
	$(BIN)/python -m hub.deploy backup $(FILE)

clean:
	rm -rf _build .jupyter_cache
