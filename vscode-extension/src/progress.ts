// The server's `$/progress` for long commands as cancellable notifications.
//
// The server creates the token (`window/workDoneProgress/create`), and
// vscode-languageclient would show it in the status bar, where it cannot be
// cancelled. We take over that request: the progress shows as a notification
// whose Cancel sends `window/workDoneProgress/cancel` (creations stop before
// their next step, or while a service is starting, and undo what they began).

import * as vscode from "vscode";
import {
  LanguageClient,
  WorkDoneProgress,
  WorkDoneProgressBegin,
  WorkDoneProgressCancelNotification,
  WorkDoneProgressCreateRequest,
  WorkDoneProgressReport,
  WorkDoneProgressEnd,
} from "vscode-languageclient/node";

export function handleProgress(client: LanguageClient): vscode.Disposable {
  const subscriptions: vscode.Disposable[] = [];
  subscriptions.push(
    client.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => {
      // `end` may arrive before withProgress has called us back (a quick
      // command): remember it, and finish as soon as the callback runs.
      let ended = false;
      let finish: (() => void) | undefined;
      let report: ((v: { message?: string; increment?: number }) => void) | undefined;
      let lastPercent = 0;
      const listener = client.onProgress(
        WorkDoneProgress.type,
        token,
        (value: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd) => {
          if (value.kind === "begin") {
            void vscode.window.withProgress(
              {
                location: vscode.ProgressLocation.Notification,
                title: `Synthetic: ${value.title}`,
                cancellable: Boolean(value.cancellable),
              },
              (progress, cancel) =>
                new Promise<void>((resolve) => {
                  if (ended) {
                    resolve();
                    return;
                  }
                  finish = resolve;
                  report = (v) => progress.report(v);
                  if (value.message) progress.report({ message: value.message });
                  cancel.onCancellationRequested(() => {
                    void client.sendNotification(WorkDoneProgressCancelNotification.type, { token });
                  });
                }),
            );
          } else if (value.kind === "report") {
            const increment = value.percentage !== undefined ? value.percentage - lastPercent : undefined;
            if (value.percentage !== undefined) lastPercent = value.percentage;
            report?.({ message: value.message, increment });
          } else {
            ended = true;
            finish?.();
            listener.dispose();
          }
        },
      );
      subscriptions.push(listener);
    }),
  );
  return vscode.Disposable.from(...subscriptions);
}
