// The status bar item: constructs by status, and agents awaiting input.

import * as vscode from "vscode";
import { countConstructs, statusBarText, statusBarTooltip } from "./format";
import type { ConstructList } from "./model";
import { getSettings } from "./settings";

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("synthetic.status", vscode.StatusBarAlignment.Left, 50);

  constructor() {
    this.item.name = "Synthetic";
    this.item.command = "synthetic.constructs.focus";
  }

  update(lists: Map<string, ConstructList>): void {
    const constructs = [...lists.values()].flatMap((l) => l.constructs);
    const counts = countConstructs(constructs);
    this.item.text = statusBarText(counts);
    this.item.tooltip = statusBarTooltip(counts);
    this.item.accessibilityInformation = { label: statusBarTooltip(counts).replace(/\n/g, ", ") };
    this.item.backgroundColor = counts.awaitingInput
      ? new vscode.ThemeColor("statusBarItem.warningBackground")
      : undefined;
    if (getSettings().statusBar) this.item.show();
    else this.item.hide();
  }

  serverDown(problem: string | undefined): void {
    this.item.text = "$(warning) Synthetic";
    this.item.tooltip = problem ?? "synthetic-ls is not running";
    this.item.command = "synthetic.showLog";
    if (getSettings().statusBar) this.item.show();
  }

  serverUp(): void {
    this.item.command = "synthetic.constructs.focus";
  }

  dispose(): void {
    this.item.dispose();
  }
}
