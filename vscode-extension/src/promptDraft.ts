// Send Prompt's editor: agents get paragraphs, not one line. The prompt is
// written in an untitled Markdown document (undo, paste, multi-line, the
// person's own keybindings); "Send Prompt Draft" (its editor title button, or
// Ctrl+Enter) sends it to the construct it was opened for, and closes it.

import * as vscode from "vscode";

/** The context key that offers Send in a draft's editor. */
export const DRAFT_CONTEXT = "synthetic.promptDraft";

export interface DraftTarget {
  root: string;
  id: string;
  name: string;
}

export class PromptDrafts implements vscode.Disposable {
  private readonly drafts = new Map<string, DraftTarget>();
  private readonly subscriptions: vscode.Disposable[] = [
    vscode.window.onDidChangeActiveTextEditor((e) => this.updateContext(e)),
    vscode.workspace.onDidCloseTextDocument((d) => this.drafts.delete(d.uri.toString())),
  ];

  /** Open a new draft for `target`, in an editor beside nothing else: the person writes there. */
  async open(target: DraftTarget): Promise<void> {
    const doc = await vscode.workspace.openTextDocument({ language: "markdown", content: "" });
    this.drafts.set(doc.uri.toString(), target);
    await vscode.window.showTextDocument(doc, { preview: false });
    this.updateContext(vscode.window.activeTextEditor);
    void vscode.window.setStatusBarMessage(
      `Synthetic: write the prompt for ${target.name}, then Send (the editor's title bar, or Ctrl+Enter)`,
      15000,
    );
  }

  /** The draft in the active editor and whom it is for; undefined if it is not one. */
  active(): { doc: vscode.TextDocument; target: DraftTarget } | undefined {
    const doc = vscode.window.activeTextEditor?.document;
    const target = doc ? this.drafts.get(doc.uri.toString()) : undefined;
    return doc && target ? { doc, target } : undefined;
  }

  /** Close a sent draft without asking to save it (an untitled document). */
  async close(doc: vscode.TextDocument): Promise<void> {
    this.drafts.delete(doc.uri.toString());
    if (vscode.window.activeTextEditor?.document === doc) {
      await vscode.commands.executeCommand("workbench.action.revertAndCloseActiveEditor");
    }
    this.updateContext(vscode.window.activeTextEditor);
  }

  private updateContext(editor: vscode.TextEditor | undefined): void {
    const on = Boolean(editor && this.drafts.has(editor.document.uri.toString()));
    void vscode.commands.executeCommand("setContext", DRAFT_CONTEXT, on);
  }

  dispose(): void {
    for (const d of this.subscriptions) d.dispose();
  }
}
