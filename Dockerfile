# The toynet grader in a container: `toynet grade` for one machine, or one shard of many (docs/GRADING.md).
#
#   docker build -t toynet-grader .
#   docker run --rm -v "$PWD/class:/grading" toynet-grader \
#       grade submissions --assignment autograder --out grades --jobs 2 [--shard I/N]
#
# The image holds Python, numpy and an installed toynet (no source tree, no assignments, no .git): a student's code
# can find no solution or reference on its disk. toynet grade runs as root inside the container and gives each
# submission its own unprivileged uid; which isolation a container gets is in docs/GRADING.md, "Isolation".
# Untested here: no container engine runs on the machine this was written on.
FROM python:3.12-slim

# unshare and setpriv (util-linux): each submission's namespaces, and its death with the grader
RUN apt-get update \
    && apt-get install -y --no-install-recommends util-linux \
    && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml README.md /tmp/toynet-src/
COPY toynet /tmp/toynet-src/toynet
# A copy in site-packages (not editable), then the source goes; the installed toynet (the reference) is root's
# alone: student code runs under other uids and must not read it.
RUN pip install --no-cache-dir "/tmp/toynet-src[grading]" \
    && rm -rf /tmp/toynet-src \
    && chmod -R go-rwx "$(python -I -c 'import os, toynet; print(os.path.dirname(toynet.__file__))')"

# Mount the class here: submissions, the autograder bundle (`toynet assign`) and the output folder, which must
# be writable by root alone (toynet grade refuses a folder other users could change).
WORKDIR /grading
ENV PYTHONDONTWRITEBYTECODE=1
ENTRYPOINT ["toynet"]
CMD ["grade", "--help"]
