"""Print the nbgitpuller link that gives every learner the course, and its updates, on the class's hub.

A learner who opens the link gets the repository cloned into ``~/<target>`` on first use; opening it again
pulls the teacher's new commits and merges them without overwriting the learner's own edits (nbgitpuller's
rules). JupyterLab then opens ``<target>/<open_path>``.

    python tools/hub/z2jh/gitpuller_link.py https://hub.example.org https://git.example.org/owner/course.git
"""
import argparse
from urllib.parse import urlencode


def gitpuller_link(hub_url, repo, branch="main", target="xai-course", open_path="notebooks/4.1_saliency_maps.ipynb"):
    """The ``/hub/user-redirect/git-pull`` address for ``repo`` (nbgitpuller's query parameters)."""
    query = urlencode({"repo": repo, "branch": branch, "targetPath": target,
                       "urlpath": f"lab/tree/{target}/{open_path}"})
    return f"{hub_url.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hub_url", help="the hub's address, e.g. https://hub.example.org")
    parser.add_argument("repo", help="the course repository's clone address")
    parser.add_argument("--branch", default="main")
    parser.add_argument("--target", default="xai-course", help="folder in each learner's home (default: xai-course)")
    parser.add_argument("--open", dest="open_path", default="notebooks/4.1_saliency_maps.ipynb",
                        help="file or folder opened after the pull, inside the target")
    args = parser.parse_args(argv)
    print(gitpuller_link(args.hub_url, args.repo, args.branch, args.target, args.open_path))


if __name__ == "__main__":
    main()
