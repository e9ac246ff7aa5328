-- Neovim 0.7 (Debian's neovim) drives the torchmode server with its built-in LSP client:
-- diagnostics, hover, the quick fix applied, the file written. Headless; the result is
-- JSON in $TORCHMODE_RESULT, and the exit code is 0 only when every step ran.
--
--   TORCHMODE_SERVER_CMD='["python", "-I", "<extension>/bundled/tool/launch.py", "lsp"]' \
--   TORCHMODE_RESULT=<file> nvim --headless -u init.lua train.py
--
-- The command (a JSON list) is the one the extension runs for the server the .vsix carries.
--
-- 0.7 has no vim.lsp.start (0.8+): start_client + buf_attach_client instead.
vim.opt.swapfile = false
vim.opt.shadafile = "NONE"

local result = { steps = {} }
local function step(name)
  table.insert(result.steps, name)
end

local function finish(ok, err)
  result.ok = ok
  if err ~= nil then
    result.error = tostring(err)
  end
  local file = io.open(os.getenv("TORCHMODE_RESULT"), "w")
  file:write(vim.fn.json_encode(result))
  file:close()
  if ok then
    vim.cmd("qall!")
  else
    vim.cmd("cquit 1")
  end
end

local function check()
  local bufnr = vim.api.nvim_get_current_buf()
  -- (assert returns its message too: json_decode must get the value alone)
  local encoded = assert(os.getenv("TORCHMODE_SERVER_CMD"), "TORCHMODE_SERVER_CMD is not set")
  local cmd = vim.fn.json_decode(encoded)
  local client_id = vim.lsp.start_client({
    name = "torchmode",
    cmd = cmd,
    root_dir = vim.fn.getcwd(),
  })
  assert(client_id, "the server did not start")
  vim.lsp.buf_attach_client(bufnr, client_id)
  step("started")

  assert(vim.wait(60000, function() return #vim.diagnostic.get(bufnr) > 0 end, 50), "no diagnostics within 60 s")
  local diagnostic = vim.diagnostic.get(bufnr)[1]
  local lsp_diagnostic = (diagnostic.user_data or {}).lsp or {}
  result.diagnostic = {
    lnum = diagnostic.lnum,
    col = diagnostic.col,
    message = diagnostic.message,
    severity = diagnostic.severity,
    source = diagnostic.source,
    code = lsp_diagnostic.code,
  }
  step("diagnostics")

  local uri = vim.uri_from_bufnr(bufnr)
  local hover = vim.lsp.buf_request_sync(bufnr, "textDocument/hover", {
    textDocument = { uri = uri },
    position = { line = diagnostic.lnum, character = diagnostic.col },
  }, 10000)
  local hover_result = hover and hover[client_id] and hover[client_id].result
  assert(hover_result, "no hover: " .. vim.inspect(hover))
  result.hover = hover_result.contents.value
  step("hover")

  local actions = vim.lsp.buf_request_sync(bufnr, "textDocument/codeAction", {
    textDocument = { uri = uri },
    range = {
      start = { line = diagnostic.lnum, character = diagnostic.col },
      ["end"] = { line = diagnostic.end_lnum, character = diagnostic.end_col },
    },
    -- The 0.7 way to get the line's diagnostics in LSP shape.
    context = { diagnostics = vim.lsp.diagnostic.get_line_diagnostics(bufnr, diagnostic.lnum), only = { "quickfix" } },
  }, 10000)
  local action_list = (actions and actions[client_id] and actions[client_id].result) or {}
  result.actions = {}
  local chosen = nil
  for _, action in ipairs(action_list) do
    table.insert(result.actions, action.title)
    if chosen == nil and action.title:find("into the loop", 1, true) then
      chosen = action
    end
  end
  assert(chosen, "no quick fix that moves model.train() into the loop")
  local client = vim.lsp.get_client_by_id(client_id)
  vim.lsp.util.apply_workspace_edit(chosen.edit, client.offset_encoding)
  vim.cmd("silent write")
  step("fixed and written")

  -- The buffer is attached: the edit went to the server as didChange, which re-checks it.
  assert(vim.wait(30000, function() return #vim.diagnostic.get(bufnr) == 0 end, 50), "the diagnostic did not go away")
  step("diagnostic gone")

  vim.lsp.stop_client(client_id)
  vim.wait(5000, function() return vim.lsp.client_is_stopped(client_id) end, 50)
  step("stopped")
end

vim.api.nvim_create_autocmd("VimEnter", {
  once = true,
  callback = function()
    local ok, err = pcall(check)
    if ok then
      finish(true)
    else
      finish(false, err)
    end
  end,
})
