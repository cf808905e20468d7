/** A data set as `GET dataLoadDataSets/{RequestId}` shows it, its messages, and the HDL faults. */

/** The HDL faults (HcmFaults' `hdl.*` keys). */
export interface HdlFaults {
  uploadDropAfterStoreRate: number;
  submitDropAfterAcceptRate: number;
  lineErrorRate: number;
  loadLinesPerSecond: number;
  stuckRate: number;
}

export interface DataSetMessage {
  MessageId: number;
  FileLine: number;
  BusinessObject: 'Goal';
  Component: string;
  SourceSystemOwner: string;
  SourceSystemId: string;
  MessageType: 'ERROR';
  MessageText: string;
}

export interface DataSet {
  RequestId: number;
  DataSetName: string;
  ContentId: string;
  FileName: string;
  FileAction: string;
  DataSetStatusCode: string;
  ImportStatusCode: string;
  LoadStatusCode: string;
  /** MERGE lines in the file. */
  FileLineCount: number;
  ImportErrorCount: number;
  LoadedLineCount: number;
  LoadErrorCount: number;
  ObjectsCreated: number;
  ObjectsUpdated: number;
  CreationDate: string;
  LastUpdateDate: string;
}
