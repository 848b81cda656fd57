"""The language server, ``synthetic-ls``: pygls over stdio, thin adapters over ops and config.

Built by :func:`synthetic_ls.lsp.server.create_server` from feature modules,
one per LSP feature, each with a ``register(server)`` function:

============================  ==================================================
module                        what it registers
============================  ==================================================
``diagnostics``               didOpen/didChange/didSave/didClose -> publishDiagnostics
                              (debounced, on the unsaved text, off the message loop)
``hover``                     textDocument/hover (keys, template ids, process.env.X)
``completion``                textDocument/completion (keys, enum values, template ids)
``code_actions``              textDocument/codeAction (quick fixes for config diagnostics)
``navigation``                textDocument/definition, textDocument/documentSymbol
``code_lens``                 textDocument/codeLens ("New construct" above each template)
``commands``                  workspace/executeCommand ``synthetic.*`` -> ``ops``
``live_state``                the ``synthetic/constructsChanged`` notification
============================  ==================================================

Handlers hold no logic another face would need: checking is
:func:`synthetic_ls.config.check_config_text`, positions are
:func:`synthetic_ls.config.locate.locate`, operations are ``synthetic_ls.ops``.
Opening a repository runs nothing from it; only an explicit command changes
anything. Nothing here touches process-wide state (no chdir, no signal
handlers): every operation is given its repository explicitly.
"""
