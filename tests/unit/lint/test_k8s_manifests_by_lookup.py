"""No ``kubernetes.core.k8s`` task renders its manifest with the module's own ``template`` option.

That option reads an ansible-core internal that 2.19 deprecates and prints "Direct access to the
`environment` attribute is deprecated" on every run, which users read as a problem of theirs. The roles
render with the ``template`` lookup into ``definition`` instead.
"""
from tests.unit.lint.test_no_credential_environment import yaml_docs

K8S = ("kubernetes.core.k8s", "k8s")


def k8s_tasks(node, where=""):
    """``(where, options)`` of every kubernetes.core.k8s call anywhere in ``node``."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from k8s_tasks(item, "%s[%d]" % (where, i))
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in K8S and isinstance(value, dict):
                yield where, value
            else:
                yield from k8s_tasks(value, "%s.%s" % (where, key))


def found():
    return ["%s%s" % (path, where) for path, doc in yaml_docs() for where, options in k8s_tasks(doc)
            if "template" in options]


def test_manifests_are_rendered_by_the_template_lookup():
    assert found() == [], "use definition: \"{{ lookup('ansible.builtin.template', ...) }}\" in:\n" + "\n".join(found())


def test_the_guard_sees_a_nested_template_option():
    play = [{"hosts": "localhost", "tasks": [{"block": [
        {"name": "apply", "kubernetes.core.k8s": {"template": "x.j2", "apply": True}},
        {"name": "fine", "kubernetes.core.k8s": {"definition": "{{ lookup('ansible.builtin.template', 'x.j2') }}"}},
    ]}]}]
    assert [w for w, o in k8s_tasks(play) if "template" in o] == ["[0].tasks[0].block[0]"]
