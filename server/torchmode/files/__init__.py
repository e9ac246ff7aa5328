"""The files of a project as both fronts see them: which ones to check (``discovery``) and how
each is read (``reading``). Below the fronts: the CLI and the language server import it, so a
folder in the editor is the same set of files, read the same way, as ``torchmode check`` of it."""
