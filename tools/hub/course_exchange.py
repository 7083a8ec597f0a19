"""nbgrader's default exchange with one change: a submission is readable by its learner and the teacher only.

nbgrader's own ``submit`` makes the files of a submission world-readable (0644 in 0755 folders) and hides them
only behind the inbound folder (0733: others may enter it but not list it) and a random suffix in the
submission's name. Here the submission is made group-only instead: files become 0640 and folders 0750 (the
submission's own folder 0770). Each learner has a group of their own, and the teacher is a member of every
learner's group (``tools/hub/classroom.py`` sets this up), so the teacher collects the submissions; other
learners, outside those groups, cannot read a submission even when they know its full path.

Feedback likewise: nbgrader's ``release_feedback`` leaves each learner's feedback world-readable in the
feedback folder (0711: enter, not list) under a name only that learner can compute (a hash with the secret of
their submission). ``GroupOnlyReleaseFeedback`` gives the file to the learner's own group, mode 0640 (the teacher
may: they are a member of it), so another learner cannot read it even by its full name.

Enable them with ``c.ExchangeFactory.submit = "course_exchange.GroupOnlySubmit"`` and
``c.ExchangeFactory.release_feedback = "course_exchange.GroupOnlyReleaseFeedback"`` (tools/hub/ on PYTHONPATH).
"""
import glob
import grp
import os
import re

from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import notebook_hash

FILE_MODE = 0o640
DIR_MODE = 0o750
TOP_MODE = 0o770   # the teacher (group) may delete the submission later, as nbgrader intends


class GroupOnlySubmit(ExchangeSubmit):
    """Submit as nbgrader does, then take every permission away from 'others' in the inbound copy."""

    def copy_files(self):
        super().copy_files()
        dest = os.path.join(self.inbound_path, self.assignment_filename)
        for folder, dirs, files in os.walk(dest):
            for name in files:
                os.chmod(os.path.join(folder, name), FILE_MODE)
            for name in dirs:
                os.chmod(os.path.join(folder, name), DIR_MODE)
        os.chmod(dest, TOP_MODE)
        self.log.info("Submission readable by you and the course's teacher only: %s", dest)


class GroupOnlyReleaseFeedback(ExchangeReleaseFeedback):
    """Release feedback as nbgrader does, then make each released file readable by its learner's group only."""

    def copy_files(self):
        super().copy_files()
        pattern = re.escape(os.path.sep).join([
            self.coursedir.format_path(self.coursedir.feedback_directory, "(?P<student_id>.*)",
                                       self.coursedir.assignment_id, escape=True),
            "(?P<notebook_id>.*).html"])
        for html in glob.glob(os.path.join(self.src_path, "*.html")):   # the same files and names as nbgrader's
            match = re.match(pattern, html)
            if match is None:
                continue
            with open(os.path.join(os.path.dirname(html), "submission_secret.txt")) as fh:
                secret = fh.read()
            released = os.path.join(self.dest_path, notebook_hash(secret=secret, notebook_id=match["notebook_id"])
                                    + ".html")
            try:
                group = grp.getgrnam(match["student_id"]).gr_gid
            except KeyError:
                self.log.warning("No Unix group %s: its feedback stays readable by name", match["student_id"])
                continue
            os.chown(released, -1, group)
            os.chmod(released, FILE_MODE)
