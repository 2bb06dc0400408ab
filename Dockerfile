# The course image: what Zero to JupyterHub starts for every user, students and instructor alike
# (singleuser.image in hub/k8s/values.yaml). It holds the course stack and mle_helpers and nothing of
# the instructor's: no solutions/, no instructor_grading/, no nbgrader_config.py. The build copies
# only the files named below, and .dockerignore keeps everything else out of the build context.
#
#   docker build --build-arg TORCH_INDEX_URL=<PyTorch CPU wheel index> -t <registry>/mle-pytorch-course:<tag> .
#
# tests/test_hub_deploy_files.py parses this file; the image was not built on the machine the
# course was developed on (see "What was and was not run here" in book/instructor_hub.md).

# Stage 1: the mle_helpers wheel, built from the package alone (pyproject.toml + mle_helpers/).
FROM python:3.11-slim-bookworm AS helpers
WORKDIR /src
COPY pyproject.toml ./
COPY mle_helpers/ ./mle_helpers/
RUN pip wheel --no-deps --no-cache-dir --wheel-dir /wheels .

# Stage 2: the image users run.
FROM python:3.11-slim-bookworm

# PyTorch's own index of CPU wheels. torch==2.13.0 resolves there to the CPU build; the default
# build for Linux pulls in the CUDA libraries, several GB that no one needs here. Point it at a
# mirror with --build-arg.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

# bubblewrap and prlimit (util-linux): the grading sandbox, used only in a grading pod that may
# create user namespaces ("Where grading runs" in book/instructor_hub.md). git: the instructor
# clones the course repository into their home.
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap util-linux git \
 && rm -rf /var/lib/apt/lists/*

# requirements.txt ends with "-e .[instructor]", an editable install of the whole repository: it
# would need solutions/ and instructor_grading/ in the image. That line is left out and what it
# brings is installed explicitly: mle_helpers as a wheel, and the [instructor] extra (nbgrader and
# jupytext are in requirements.txt already; nbformat is named here). jupyterhub is pinned to the
# hub's major version (Zero to JupyterHub 4.x runs JupyterHub 5); psycopg2-binary lets nbgrader in
# the instructor's pod reach the PostgreSQL gradebook.
COPY requirements.txt /tmp/requirements.txt
COPY --from=helpers /wheels/ /tmp/wheels/
RUN grep -v '^-e' /tmp/requirements.txt > /tmp/requirements-image.txt \
 && pip install --no-cache-dir --extra-index-url "${TORCH_INDEX_URL}" \
      -r /tmp/requirements-image.txt \
      "jupyterhub>=5,<6" \
      "nbformat>=5.10" \
      psycopg2-binary \
      /tmp/wheels/mle_helpers-*.whl \
 && rm -rf /tmp/requirements.txt /tmp/requirements-image.txt /tmp/wheels

# Formgrader, create-assignment and the course list are the instructor's tools: switched off here,
# at the environment (sys-prefix) level, for everyone; the instructor's pod switches them back on
# (hub/k8s/values.yaml). JupyterLab 4.1 and later locks plugins the first time any are disabled, and
# a locked plugin cannot be re-enabled with `jupyter labextension enable --level=user`; unlocking
# keeps that route open for an instructor's ~/.jupyter. Hiding the tools is a convenience for
# students, not a protection: what protects the course is that this image holds no instructor file
# and that only the instructor's pod receives the gradebook's credentials.
RUN jupyter server extension disable --sys-prefix \
      nbgrader.server_extensions.formgrader \
      nbgrader.server_extensions.course_list \
 && jupyter labextension disable --level=sys_prefix \
      @jupyter/nbgrader:formgrader \
      @jupyter/nbgrader:create-assignment \
      @jupyter/nbgrader:course-list \
 && jupyter labextension unlock --level=sys_prefix \
      @jupyter/nbgrader:formgrader \
      @jupyter/nbgrader:create-assignment \
      @jupyter/nbgrader:course-list

# jovyan, uid 1000, primary group users (100): the uid and fsGroup Zero to JupyterHub starts user
# pods with. The name matters: nbgrader takes the student id from JUPYTERHUB_USER (the hub's user
# name) only when the Unix user is called jovyan (nbgrader.utils.get_username).
RUN useradd --create-home --uid 1000 --gid 100 --shell /bin/bash jovyan
ENV SHELL=/bin/bash
WORKDIR /home/jovyan
USER 1000

CMD ["jupyterhub-singleuser"]
