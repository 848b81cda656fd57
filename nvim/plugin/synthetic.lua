-- Synthetic: the :Synthetic* user commands, defined here without loading the
-- plugin's modules or vim.lsp: each requires its module on first use (as
-- gitsigns.nvim and nvim-lspconfig do), so that Neovim starts as fast without
-- a Synthetic repository as with. The server starts once
-- require("synthetic").setup() is called and a buffer of a repository opens.
if vim.g.loaded_synthetic then
  return
end
vim.g.loaded_synthetic = true

if vim.fn.has("nvim-0.10") == 0 then
  vim.notify("synthetic.nvim needs Neovim 0.10 or later", vim.log.levels.WARN)
  return
end

--- `fn(module, opts)` run with the module `name`, required only now.
local function with(name, fn)
  return function(o)
    fn(require(name), o)
  end
end

local function complete_ref(arglead)
  return require("synthetic.session").complete(arglead)
end

local function arg(o)
  return o.args ~= "" and o.args or nil
end

-- name -> { run, options }
local commands = {
  SyntheticNew = { with("synthetic.commands", function(m, o)
    m.new({ name = arg(o) })
  end), { nargs = "?", desc = "Synthetic: new construct (pick a template, type a name)" } },
  SyntheticList = { with("synthetic.commands", function(m)
    m.list()
  end), { desc = "Synthetic: list constructs; open, show, diff, land, remove one, ..." } },
  SyntheticRemove = { with("synthetic.commands", function(m, o)
    m.remove(o.args)
  end), { nargs = "?", desc = "Synthetic: remove a construct" } },
  SyntheticDoctor = { with("synthetic.commands", function(m, o)
    m.doctor(o.bang)
  end), { bang = true, desc = "Synthetic: doctor findings into the quickfix list (! fixes what is safe)" } },
  SyntheticFix = { with("synthetic.commands", function(m)
    m.fix()
  end), { desc = "Synthetic: apply the fix of one doctor finding" } },
  SyntheticServices = { with("synthetic.services", function(m)
    m.open()
  end), { desc = "Synthetic: services of every construct; start, stop, restart, logs" } },

  -- The agent sessions (synthetic.session.*).
  SyntheticSession = { with("synthetic.session", function(m, o)
    m.open(o.args)
  end), { nargs = "?", complete = complete_ref, desc = "Synthetic: the agent's terminal UI (OpenCode) in a terminal split" } },
  SyntheticSend = { with("synthetic.session", function(m, o)
    m.send(o.args, o.bang)
  end), {
    nargs = "*",
    bang = true,
    complete = function(arglead, line)
      -- Only the first word is a construct; the rest is the prompt.
      if #vim.split(vim.trim(line), "%s+") > (arglead == "" and 1 or 2) then
        return {}
      end
      return complete_ref(arglead)
    end,
    desc = "Synthetic: send a prompt to a construct's agent (! waits for the reply)",
  } },
  SyntheticAbort = { with("synthetic.session", function(m, o)
    m.abort(o.args)
  end), { nargs = "?", complete = complete_ref, desc = "Synthetic: stop the agent's current turn" } },
  SyntheticApprove = { with("synthetic.session", function(m, o)
    m.reply(o.args, true, o.bang)
  end), { nargs = "?", bang = true, complete = complete_ref, desc = "Synthetic: approve the agent's pending permission (! always)" } },
  SyntheticDeny = { with("synthetic.session", function(m, o)
    m.reply(o.args, false, false)
  end), { nargs = "?", complete = complete_ref, desc = "Synthetic: deny the agent's pending permission" } },
  SyntheticLog = { with("synthetic.session", function(m, o)
    m.log(o.args)
  end), { nargs = "?", complete = complete_ref, desc = "Synthetic: the agent's transcript in a scratch buffer" } },

  -- Review and land (synthetic.construct.diff, .commit, .land, .discard, .review).
  SyntheticDiff = { with("synthetic.review", function(m, o)
    m.diff(o.args)
  end), { nargs = "?", desc = "Synthetic: a construct's changed files in the quickfix list, and a diff split" } },
  SyntheticCommit = { with("synthetic.review", function(m, o)
    m.commit(o.args)
  end), { nargs = "*", desc = "Synthetic: commit a construct's uncommitted work ([ref] [message])" } },
  SyntheticLand = { with("synthetic.review", function(m, o)
    m.land(o.args)
  end), { nargs = "?", desc = "Synthetic: land a construct's branch (merge, squash, rebase, apply)" } },
  SyntheticDiscard = { with("synthetic.review", function(m, o)
    m.discard(o.args)
  end), { nargs = "?", desc = "Synthetic: remove a construct and its branch, unlanded commits included" } },
  SyntheticCompare = { with("synthetic.compare", function(m, o)
    m.open(o.args)
  end), { nargs = "?", desc = "Synthetic: a group's attempts side by side (d diff, D against another, L land)" } },
  SyntheticReview = { with("synthetic.review", function(m, o)
    m.review(o.args)
  end), { nargs = "?", desc = "Synthetic: mark a construct as being reviewed" } },

  -- Prompt bundles (synthetic.prompts.*).
  SyntheticPrompts = { with("synthetic.prompts", function(m, o)
    m.preview(o.args)
  end), { nargs = "?", desc = "Synthetic: preview a template's prompt bundle in a scratch buffer" } },
  SyntheticPromptsBuild = { with("synthetic.prompts", function(m, o)
    m.build(o.args)
  end), { nargs = 1, desc = "Synthetic: remake a construct's prompt bundle and show it" } },
}

for name, spec in pairs(commands) do
  vim.api.nvim_create_user_command(name, spec[1], spec[2])
end
